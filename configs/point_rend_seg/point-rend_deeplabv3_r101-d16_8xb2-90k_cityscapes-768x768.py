# Semantic PointRend on DeepLabV3 OS16 (paper Table 6): fine-grained
# features from res2, coarse prediction from the ASPP head (stride 16);
# 2304 training points (the stride-16 map of a 768x768 crop), k=3,
# beta=0.75; inference subdivides with 8096 points per step up to the input
# resolution (64x128 -> 1024x2048 in 4 steps).
_base_ = '../deeplabv3/deeplabv3_r101-d16_8xb2-90k_cityscapes-768x768.py'

custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

num_classes = 19  # stated once for both heads
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[
        dict(
            type='ASPPHead',
            in_channels=2048,
            in_index=3,
            channels=512,
            dilations=(1, 6, 12, 18),
            dropout_ratio=-1,
            num_classes=num_classes,
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        dict(
            type='PointRendSemanticHead',
            num_classes=num_classes,
            in_channels=[256],  # res2
            in_index=[0],
            channels=256,
            num_fcs=3,
            coarse_pred_each_layer=True)
    ],
    auxiliary_head=None,
    train_cfg=dict(
        num_points=48 * 48, oversample_ratio=3, importance_sample_ratio=0.75),
    test_cfg=dict(
        mode='whole',
        subdivision_num_points=8096,
        subdivision_steps=None,  # until the input resolution
        scale_factor=2))
# lr x10 on the ASPP head only (decode_head.0), not on the point head
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True, custom_keys={'decode_head.0': dict(lr_mult=10.0)}))
