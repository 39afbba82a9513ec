# Semantic PointRend on SemanticFPN R101 (p2p5), ADE20K (150 classes) with
# MMSegmentation's SemanticFPN ADE20K recipe (512x512 crops, 160k
# iterations); its baseline (same backbone, data, schedule) is the base
# config. 1024 training points (the stride-16 map of a 512x512 crop).
_base_ = '../sem_fpn/fpn_r101-p2p5_4xb4-160k_ade20k-512x512.py'

custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

num_classes = 150
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[
        dict(
            type='FPNHead',
            in_channels=[256, 256, 256, 256],
            in_index=[0, 1, 2, 3],
            feature_strides=[4, 8, 16, 32],
            channels=128,
            dropout_ratio=0.1,  # as the baseline's head
            num_classes=num_classes,
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        dict(
            type='PointRendSemanticHead',
            num_classes=num_classes,
            in_channels=[256],
            in_index=[0],
            channels=256,
            num_fcs=3,
            coarse_pred_each_layer=True)
    ],
    train_cfg=dict(
        num_points=32 * 32, oversample_ratio=3, importance_sample_ratio=0.75),
    test_cfg=dict(
        mode='whole',
        subdivision_num_points=8096,
        subdivision_steps=None,
        scale_factor=2))
