# Semantic PointRend on SemanticFPN R101 with a P3-P5 head (coarse output
# stride 8), paper Table 7; fine-grained features still from P2.
_base_ = './point-rend_fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py'

num_classes = 19  # stated once for both heads (the list replaces the base's)
model = dict(
    decode_head=[
        dict(
            type='FPNHead',
            in_channels=[256, 256, 256],
            in_index=[1, 2, 3],
            feature_strides=[8, 16, 32],
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
            in_channels=[256],
            in_index=[0],
            channels=256,
            num_fcs=3,
            coarse_pred_each_layer=True)
    ])
