# Semantic PointRend on SemanticFPN R101 P2-P5 (paper Table 7): fine-grained
# features from P2, coarse prediction from the FPN head (stride 4); 2048
# training points (the stride-16 map of a 512x1024 crop), k=3, beta=0.75;
# inference subdivides with 8096 points per step up to the input resolution.
_base_ = '../sem_fpn/fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py'

custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

num_classes = 19  # stated once for both heads
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
            dropout_ratio=-1,
            num_classes=num_classes,
            norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        dict(
            type='PointRendSemanticHead',
            num_classes=num_classes,
            in_channels=[256],  # P2
            in_index=[0],
            channels=256,
            num_fcs=3,
            coarse_pred_each_layer=True)
    ],
    train_cfg=dict(
        num_points=32 * 64, oversample_ratio=3, importance_sample_ratio=0.75),
    test_cfg=dict(
        mode='whole',
        subdivision_num_points=8096,
        subdivision_steps=None,  # until the input resolution
        scale_factor=2))
