# Semantic PointRend on DeepLabV3 OS16 (paper Table 6): fine-grained
# features from res2, coarse prediction from the ASPP head (stride 16);
# 2304 training points (the stride-16 map of a 768x768 crop), k=3,
# beta=0.75; inference subdivides with 8096 points per step up to the input
# resolution (64x128 -> 1024x2048 in 4 steps).
_base_ = [
    '../deeplabv3/deeplabv3_r101-d16_8xb2-90k_cityscapes-768x768.py',
    '../_base_/models/point-rend_semantic-head.py'
]

# the baseline's head gives the coarse prediction; PointRend refines it
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[{{_base_.model.decode_head}},
                 {{_base_.point_rend_head_cityscapes}}],
    auxiliary_head=None,
    train_cfg={{_base_.point_rend_train_cfg_768x768}},
    test_cfg={{_base_.point_rend_test_cfg}})

# lr x10 on the ASPP head only (decode_head.0), not on the point head
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True, custom_keys={'decode_head.0': dict(lr_mult=10.0)}))
