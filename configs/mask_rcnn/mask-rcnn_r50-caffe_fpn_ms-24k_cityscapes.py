# 4x conv Mask R-CNN R50-FPN (caffe-style, frozen BN), Cityscapes instance,
# the PointRend paper's schedule (appendix A): 8 images per batch (1 x 8
# GPUs), 18k / 6k iterations at 0.01 / 0.001, linear warm-up over 1000
# iterations, train shorter edge 800-1024 step 32, test 1024, ImageNet init.
# Evaluated with COCO-style AP and the official Cityscapes instance metric.
# Trained as detectron2 trains (../_base_/d2-training_instance.py: RPN / RoI
# matching, FPN and box-head initialisation, PIL resizing).
_base_ = [
    'mmdet::cityscapes/mask-rcnn_r50_fpn_1x_cityscapes.py',
    '../_base_/d2-training_instance.py',
    '../_base_/schedules/d2-iter-schedules.py'
]

model = dict(
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        norm_cfg=dict(requires_grad=False),
        norm_eval=True,
        style='caffe',
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    neck={{_base_.d2_training_model.neck}},
    # L1 box loss as detectron2 (SMOOTH_L1_BETA 0) and mmdet's COCO models;
    # mmdet's Cityscapes config switches to smooth L1 (beta 1)
    roi_head=dict(
        bbox_head=dict(
            loss_bbox=dict(_delete_=True, type='L1Loss', loss_weight=1.0),
            init_cfg={{_base_.d2_box_head_init}})),
    train_cfg={{_base_.d2_training_model.train_cfg}})

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # mmdet's Cityscapes converter writes RLE masks: with poly2mask=False
    # mmdet would flag every one of them as ignored (no ground truth at all)
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='RandomChoiceResize',
        scales=[(2048, s) for s in range(800, 1025, 32)],
        keep_ratio=True,
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    batch_size=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='CityscapesDataset',
        data_root='data/cityscapes/',
        ann_file='annotations/instancesonly_filtered_gtFine_train.json',
        data_prefix=dict(img='leftImg8bit/train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
test_pipeline = {{_base_.d2_exact_cityscapes_test_pipeline}}
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

train_cfg = {{_base_.cityscapes_24k.train_cfg}}
param_scheduler = {{_base_.cityscapes_24k.param_scheduler}}
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=8)
load_from = None  # the paper trains Cityscapes from ImageNet weights
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=4000,
        max_keep_ckpts=3))
log_processor = dict(by_epoch=False)

# Testing: COCO-style box / mask AP, Cityscapes' own instance AP
# (cityscapesscripts, via mmdet's CityScapesMetric, from gtFine/val
# *_instanceIds.png) and Boundary AP. Prepare the data with
# `python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8`.
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)
test_evaluator = [
    dict(
        type='CocoMetric',
        ann_file='data/cityscapes/annotations/'
        'instancesonly_filtered_gtFine_val.json',
        metric=['bbox', 'segm'],
        backend_args=None),
    dict(
        type='CityScapesMetric',
        seg_prefix='data/cityscapes/gtFine/val',
        outfile_prefix='./work_dirs/cityscapes_metric/instance',
        backend_args=None),
    dict(
        type='CocoBoundaryMetric',
        ann_file='data/cityscapes/annotations/'
        'instancesonly_filtered_gtFine_val.json',
        backend_args=None)
]
