# Fine-tune the authors' semantic PointRend (SemanticFPN R101, Cityscapes,
# detectron2's zoo file model_final_cf6ac1.pkl) on your own classes: see
# the README, "Fine-tune on your own data". Change the marked lines.
#
#   python3 tools/model_converters/detectron2_to_mmpointrend.py \
#       model_final_cf6ac1.pkl checkpoints/point-rend_sem_r101_cf6ac1.pth \
#       --config configs/point_rend_seg/point-rend_fpn_r101-caffe-d2zoo_8xb4-65k_cityscapes-512x1024.py
#   python3 tools/train.py THIS_FILE
#
# The backbone, FPN, the coarse head's trunk and the point head's
# fine-feature columns are kept; the Cityscapes classes that you have too
# ('road', 'car', ...; same name or class_map) keep their rows in the coarse
# head's classifier and their rows and coarse-logit columns in the point
# head; the others start as the heads initialise them.
_base_ = './point-rend_fpn_r101-caffe-d2zoo_8xb4-65k_cityscapes-512x1024.py'

# (1) your classes; label maps hold 0..K-1 and 255 (ignored)
classes = ('road', 'car', 'my_thing')
palette = [[128, 64, 128], [0, 0, 142], [220, 220, 0]]
# (2) your name -> the checkpoint's (Cityscapes) name, for renamed classes
class_map = dict()  # e.g. dict(pedestrian='person')
# (3) the dataset: img_dir/{train,val}/*.png, ann_dir/{train,val}/*.png
data_root = 'data/my_dataset/'
# (4) the converted zoo checkpoint
load_from = 'checkpoints/point-rend_sem_r101_cf6ac1.pth'
# crops for training (your images' size or smaller)
crop_size = (512, 1024)

num_classes = len(classes)
metainfo = dict(classes=classes, palette=palette)
model = dict(
    data_preprocessor=dict(size=crop_size),
    # the zoo backbone's frozen BN stays frozen (inherited: BN with
    # requires_grad=False, norm_eval=True); load_from covers its weights
    backbone=dict(init_cfg=None),
    # the two heads restated with your num_classes (mmengine replaces a
    # list as a whole): the baseline's FPNHead gives the coarse prediction,
    # PointRend refines it (the zoo layout: coarse logits in the point
    # head's first layer only)
    decode_head=[
        dict(
            type='FPNHead',
            in_channels=[256, 256, 256, 256],
            in_index=[0, 1, 2, 3],
            feature_strides=[4, 8, 16, 32],
            channels=128,
            dropout_ratio=-1,
            num_classes=num_classes,
            norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
            align_corners=False,
            # averaged over the pixels that are not ignored (detectron2)
            loss_decode={{_base_.authors_cross_entropy}}),
        dict(
            type='PointRendSemanticHead',
            num_classes=num_classes,
            in_channels=[256],
            in_index=[0],
            channels=256,
            num_fcs=3,
            coarse_pred_each_layer=False,
            loss_decode={{_base_.authors_cross_entropy}})
    ])

dataset = dict(
    _delete_=True,
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=metainfo,
    img_suffix='.png',
    seg_map_suffix='.png',
    reduce_zero_label=False)
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        dataset,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        dataset,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='SegBoundaryMetric')
]

# A short schedule: 4000 iterations of 16 crops at lr 0.005 (half the
# from-scratch rate), steps at 2/3 and 9/10; auto_scale_lr scales lr to
# the batch you run (1 GPU x 2 crops: 0.000625).
max_iters = 4000
train_cfg = dict(max_iters=max_iters, val_interval=500)
optim_wrapper = dict(optimizer=dict(lr=0.005))
auto_scale_lr = dict(enable=True, base_batch_size=16)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[2700, 3600],
        gamma=0.1)
]
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False, interval=500, max_keep_ckpts=2, save_best='mIoU'))
custom_hooks = [dict(type='ClassAwareLoadHook', class_map=class_map)]
