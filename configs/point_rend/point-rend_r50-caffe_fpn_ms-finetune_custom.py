# Fine-tune the authors' PointRend R50-FPN (COCO, detectron2's zoo file
# model_final_736f5a.pkl) on your own COCO-format dataset: see the README,
# "Fine-tune on your own data". Change the four marked lines.
#
#   python3 tools/model_converters/detectron2_to_mmpointrend.py \
#       model_final_736f5a.pkl checkpoints/point-rend_r50_coco_736f5a.pth \
#       --config configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py
#   python3 tools/train.py THIS_FILE            # or tools/dist_train.sh
#
# Loading keeps every weight that does not depend on the classes (backbone,
# FPN, RPN, box head trunk, coarse head trunk, the point head's fine-feature
# columns) and copies the rows / columns of your classes that COCO has too
# (same name, or through class_map); the others start as the heads
# initialise them. The log shows the table (ClassAwareLoadHook).
_base_ = './point-rend_r50-caffe_fpn_ms-1x_coco.py'

# (1) your classes, named as in the json's "categories"
classes = ('person', 'car', 'widget', 'dog')
# (2) your name -> the checkpoint's (COCO) name, for renamed classes
class_map = dict()  # e.g. dict(pedestrian='person')
# (3) the dataset: COCO json files (labelme / CVAT / Label Studio exports)
data_root = 'data/my_dataset/'
# (4) the converted zoo checkpoint
load_from = 'checkpoints/point-rend_r50_coco_736f5a.pth'

metainfo = dict(classes=classes)
model = dict(
    # the zoo model's frozen BN (caffe-style R50, FrozenBN in detectron2)
    # stays frozen: BN with requires_grad=False, norm_eval=True (inherited)
    backbone=dict(init_cfg=None),  # load_from covers it: no ImageNet weights
    # num_classes once: the coarse and point heads take the box head's
    roi_head=dict(bbox_head=dict(num_classes=len(classes))))

train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/val.json',
        metric=['bbox', 'segm']),
    dict(
        type='CocoBoundaryMetric', ann_file=data_root + 'annotations/val.json')
]

# A short schedule for a few hundred to a few thousand images: 3000
# iterations of 16 images at lr 0.01 (half the from-scratch rate), steps at
# 2/3 and 9/10, 100 warm-up iterations. auto_scale_lr scales lr to the
# batch you really run (1 GPU x 2 images: 0.00125); give more iterations to
# larger datasets (about 12 epochs).
max_iters = 3000
train_cfg = dict(max_iters=max_iters, val_interval=500)
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=True, base_batch_size=16)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[2000, 2700],
        gamma=0.1)
]
default_hooks = dict(
    checkpoint=dict(interval=500, max_keep_ckpts=2, save_best='coco/segm_mAP'))
# mmdet's own tools/train.py needs the hook here; ours add it for any
# config with load_from
custom_hooks = [dict(type='ClassAwareLoadHook', class_map=class_map)]
