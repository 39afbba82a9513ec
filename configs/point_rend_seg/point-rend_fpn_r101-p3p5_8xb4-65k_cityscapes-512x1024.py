# Semantic PointRend on SemanticFPN R101 with a P3-P5 head (coarse output
# stride 8), paper Table 7; fine-grained features still from P2.
_base_ = [
    '../sem_fpn/fpn_r101-p3p5_8xb4-65k_cityscapes-512x1024.py',
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
