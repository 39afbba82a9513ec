# Semantic PointRend on SemanticFPN R101 P2-P5 (paper Table 7): fine-grained
# features from P2, coarse prediction from the FPN head (stride 4); 2048
# training points (the stride-16 map of a 512x1024 crop), k=3, beta=0.75;
# inference subdivides with 8096 points per step up to the input resolution.
_base_ = [
    '../sem_fpn/fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py',
    '../_base_/models/point-rend_semantic-head.py'
]

# the baseline's head gives the coarse prediction; PointRend refines it
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[{{_base_.model.decode_head}},
                 {{_base_.point_rend_head_cityscapes}}],
    train_cfg={{_base_.point_rend_train_cfg_512x1024}},
    test_cfg={{_base_.point_rend_test_cfg}})
