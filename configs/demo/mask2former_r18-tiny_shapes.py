# CPU demo baseline for the query-based host: mmdet's Mask2Former (instance)
# as shipped in structure - ResNet, MSDeformAttn pixel decoder, masked-
# attention decoder, Hungarian matching, point-sampled mask loss - at demo
# size: the demo's small ResNet-18 (16 base channels, from scratch), 64
# channels, 2 encoder and 3 decoder layers (one round over the 3 feature
# levels), 30 queries; the generated shapes at 160x160, 4 classes. mmdet's
# own masks: stride-4 logits upsampled to the image.
_base_ = [
    'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py',
    './_base_/shapes-160_one-stage.py'
]

num_classes = len(_base_.shapes_classes)
size = 160
width = 64  # pixel decoder and transformer channels

model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(
            type='BatchFixedSizePad',
            size=(size, size),
            img_pad_value=0,
            pad_mask=True,
            mask_pad_value=0,
            pad_seg=False)
    ]),
    backbone=dict(
        depth=18,
        base_channels=16,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),  # from scratch: no download
    panoptic_head=dict(
        in_channels=[16, 32, 64, 128],
        feat_channels=width,
        out_channels=width,
        num_things_classes=num_classes,
        num_queries=30,
        pixel_decoder=dict(
            encoder=dict(
                num_layers=2,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=width, num_heads=4),
                    ffn_cfg=dict(
                        embed_dims=width, feedforward_channels=4 * width))),
            positional_encoding=dict(num_feats=width // 2)),
        positional_encoding=dict(num_feats=width // 2),
        transformer_decoder=dict(
            num_layers=3,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=width, num_heads=4),
                cross_attn_cfg=dict(embed_dims=width, num_heads=4),
                ffn_cfg=dict(embed_dims=width,
                             feedforward_channels=4 * width))),
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    panoptic_fusion_head=dict(num_things_classes=num_classes),
    train_cfg=dict(num_points=56 * 56),  # 12544 of 1024x1024 crops, scaled
    test_cfg=dict(max_per_image=30))

# the RTMDet-Ins demo's augmentation (same data treatment for both hosts)
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
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), by_mask=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(size, size), keep_ratio=True),
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
# 1000 iterations (demo/train_demo.py --task mask2former trains 2000)
train_cfg = dict(_base_.shapes_train_cfg, _delete_=True)
# mmdet's AdamW (weight decay 0.05, gradient clip 0.01) at 4x its lr of 1e-4
# for a short from-scratch run; the backbone at the full rate (mmdet: 0.1x
# for a pretrained one)
optim_wrapper = dict(
    optimizer=dict(lr=0.0004),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0)}))
param_scheduler = _base_.shapes_param_scheduler
default_hooks = _base_.shapes_default_hooks
log_processor = dict(by_epoch=False)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
