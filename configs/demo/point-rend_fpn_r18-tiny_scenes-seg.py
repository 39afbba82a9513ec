# CPU demo: semantic PointRend on the demo SemanticFPN (same backbone, data,
# schedule); fine-grained features from P2, coarse from the FPN head.
_base_ = './fpn_r18-tiny_scenes-seg.py'

custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

num_classes = 8
width = 64
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[
        dict(
            type='FPNHead',
            in_channels=[width] * 4,
            in_index=[0, 1, 2, 3],
            feature_strides=[4, 8, 16, 32],
            channels=width,
            dropout_ratio=-1,
            num_classes=num_classes,
            norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        dict(
            type='PointRendSemanticHead',
            num_classes=num_classes,
            in_channels=[width],
            in_index=[0],
            channels=width,
            num_fcs=3,
            coarse_pred_each_layer=True)
    ],
    train_cfg=dict(
        num_points=8 * 16,  # the stride-16 map of a 128x256 crop
        oversample_ratio=3,
        importance_sample_ratio=0.75),
    test_cfg=dict(
        mode='whole',
        subdivision_num_points=8 * 16 * 4,
        subdivision_steps=None,
        scale_factor=2))
