# Semantic PointRend SemanticFPN R101 P2-P5, Cityscapes (the recipe of
# point-rend_fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py), laid out for
# detectron2's model-zoo weights (projects/PointRend
# pointrend_semantic_R_101_FPN_1x_cityscapes): the MSRA caffe-style ResNet-101
# (stride in the 1x1 conv, frozen BN), BGR input with mean (103.53, 116.28,
# 123.675) and std 1, and detectron2's 8192 points per subdivision step (the
# paper's text says 8096). Convert the .pkl first:
#   python tools/model_converters/detectron2_to_mmpointrend.py \
#       model_final.pkl pointrend_semantic_r101_d2zoo.pth --config THIS_FILE
# Both heads average their cross-entropy over the pixels / points that are
# not ignored, as detectron2 does (the coarse head from the _d2-loss
# baseline, the point head from point_rend_head_d2zoo).
_base_ = [
    '../sem_fpn/fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024_d2-loss.py',
    '../_base_/models/point-rend_semantic-head.py'
]

model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        style='caffe',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet101_caffe')),
    # the point head without coarse predictions past its first layer
    decode_head=[{{_base_.model.decode_head}},
                 {{_base_.point_rend_head_d2zoo}}],
    train_cfg={{_base_.point_rend_train_cfg_512x1024}},
    test_cfg=dict(
        subdivision_num_points=8192, subdivision_steps=2, scale_factor=2))
