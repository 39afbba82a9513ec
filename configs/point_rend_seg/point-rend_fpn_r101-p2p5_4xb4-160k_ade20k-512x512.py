# Semantic PointRend on SemanticFPN R101 (p2p5), ADE20K (150 classes) with
# MMSegmentation's SemanticFPN ADE20K recipe (512x512 crops, 160k
# iterations); its baseline (same backbone, data, schedule) is the base
# config. 1024 training points (the stride-16 map of a 512x512 crop).
_base_ = [
    '../sem_fpn/fpn_r101-p2p5_4xb4-160k_ade20k-512x512.py',
    '../_base_/models/point-rend_semantic-head.py'
]

# the baseline's head gives the coarse prediction; PointRend refines it
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[{{_base_.model.decode_head}},
                 {{_base_.point_rend_head_ade20k}}],
    train_cfg={{_base_.point_rend_train_cfg_512x512}},
    test_cfg={{_base_.point_rend_test_cfg}})
