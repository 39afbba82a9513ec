# CPU demo baseline: SemanticFPN (P2-P5, output stride 4) with a small
# ResNet-18 (16 base channels) from scratch on generated street-like scenes
# with thin structures (mmpointrend/datasets/synthetic_scenes.py). Same
# recipe as the Cityscapes config except size.
_base_ = '../sem_fpn/fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py'

data_root = 'data/scenes/'  # overridden by demo/train_demo.py
classes = ('sky', 'building', 'road', 'vegetation', 'pole', 'wire', 'sign',
           'text')
num_classes = len(classes)
crop_size = (128, 256)
width = 64

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=18,
        base_channels=16,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),  # from scratch: no download
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=width),
    decode_head=dict(
        in_channels=[width] * 4,
        channels=width,
        num_classes=num_classes,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

metainfo = dict(
    classes=classes,
    palette=[[70, 130, 180], [70, 70, 70], [128, 64, 128], [107, 142, 35],
             [153, 153, 153], [250, 170, 30], [220, 220, 0], [255, 255, 255]])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(256, 128),
        ratio_range=(1.0, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=metainfo,
    img_suffix='.png',
    seg_map_suffix='.png',
    reduce_zero_label=False)
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        dataset,
        _delete_=True,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        dataset,
        _delete_=True,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# mIoU and boundary IoU / F-score (no Cityscapes files here)
val_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='SegBoundaryMetric')
]
test_evaluator = val_evaluator

max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(
    optimizer=dict(lr=0.02), clip_grad=dict(_delete_=True, max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[int(max_iters * 0.75),
                    int(max_iters * 0.9)],
        gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
