# CPU demo baseline for the one-stage host: mmdet's RTMDet-Ins tiny (its
# architecture as shipped, BN instead of SyncBN, trained from scratch) on
# the generated shapes at 160x160, 4 classes. mmdet's own masks: stride-8
# logits upsampled to the image, Dice loss at mask_loss_stride 4.
_base_ = [
    'mmdet::rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py',
    './_base_/shapes-160_one-stage.py'
]

size = 160
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    backbone=dict(norm_cfg=norm_cfg, init_cfg=None),  # from scratch
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(num_classes=len(_base_.shapes_classes), norm_cfg=norm_cfg),
    test_cfg=dict(max_per_img=30))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='LoadAnnotations',
        with_bbox=True,
        with_mask=True,
        poly2mask=False),
    dict(
        type='RandomResize',
        scale=(size, size),
        ratio_range=(0.8, 1.2),
        keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_size=(size, size),
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=(size, size), pad_val=dict(img=(114, 114, 114))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), by_mask=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(size, size), keep_ratio=True),
    dict(type='Pad', size=(size, size), pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    _base_.shapes_train_dataloader,
    dataset=dict(
        _base_.shapes_train_dataloader.dataset,
        _delete_=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    _base_.shapes_val_dataloader,
    dataset=dict(
        _base_.shapes_val_dataloader.dataset,
        _delete_=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_evaluator
test_evaluator = val_evaluator
train_cfg = dict(_base_.shapes_train_cfg, _delete_=True)
optim_wrapper = dict(optimizer=dict(lr=0.002))
param_scheduler = _base_.shapes_param_scheduler
custom_hooks = []  # no EMA / pipeline switch in a 1000-iteration demo
default_hooks = _base_.shapes_default_hooks
log_processor = dict(by_epoch=False)  # iterations, not 'Epoch [1][800/100]'
env_cfg = dict(dist_cfg=dict(backend='gloo'))
