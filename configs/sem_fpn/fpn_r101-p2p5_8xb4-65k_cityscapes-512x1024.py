# SemanticFPN R101 (P2-P5), Cityscapes, the PointRend paper's recipe
# (appendix B, Table 7): 32 images per batch (4 x 8 GPUs), 512x1024 crops,
# 40k / 15k / 10k iterations at 0.01 / 0.001 / 0.0001, linear warm-up over
# 1000 iterations (factor 0.001, as detectron2), frozen BN in the backbone
# (GN in the head, as detectron2), colour augmentation, scale 0.5-2.0 with a
# 32 pixel step, horizontal flip; whole-image inference at 1024x2048.
_base_ = [
    'mmseg::sem_fpn/fpn_r101_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/schedules/d2-iter-schedules.py'
]

model = dict(
    pretrained=None,
    backbone=dict(
        type='ResNet',  # the standard (7x7 stem) ResNet-101
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')),
    decode_head=dict(
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        dropout_ratio=-1))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomChoiceResize',
        scales=[(4096, s) for s in range(512, 2049, 32)],
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 1024), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))

# warm-up factor 0.001 (detectron2's WARMUP_FACTOR, the zoo model's config)
train_cfg = {{_base_.cityscapes_sem_65k.train_cfg}}
param_scheduler = {{_base_.cityscapes_sem_65k.param_scheduler}}
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=32)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=8000))

# Testing: mIoU, boundary IoU / F-score (mmpointrend's SegBoundaryMetric,
# d = 2% of the diagonal) and the official Cityscapes evaluation
# (cityscapesscripts via mmseg's CityscapesMetric, against gtFine/val
# *_labelIds.png; category and class IoU). Prepare the data with
# `python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8`.
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='SegBoundaryMetric'),
    dict(
        type='CityscapesMetric',
        output_dir='work_dirs/cityscapes_metric/semantic')
]
