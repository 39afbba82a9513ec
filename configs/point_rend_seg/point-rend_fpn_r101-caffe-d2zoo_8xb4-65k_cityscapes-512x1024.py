# Semantic PointRend SemanticFPN R101 P2-P5, Cityscapes, laid out for
# detectron2's model-zoo weights (projects/PointRend
# pointrend_semantic_R_101_FPN_1x_cityscapes): the MSRA caffe-style ResNet-101
# (stride in the 1x1 conv, frozen BN), BGR input with mean (103.53, 116.28,
# 123.675) and std 1, and detectron2's 8192 points per subdivision step (the
# paper's text says 8096). Convert the .pkl first:
#   python tools/model_converters/detectron2_to_mmpointrend.py \
#       model_final.pkl pointrend_semantic_r101_d2zoo.pth --config THIS_FILE
_base_ = './point-rend_fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py'

num_classes = 19

model = dict(
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        style='caffe',
        init_cfg=dict(type='Pretrained',
                      checkpoint='open-mmlab://detectron2/resnet101_caffe')),
    # detectron2's current Base-PointRend-Semantic-FPN.yaml (zoo model
    # 202576688, model_final_cf6ac1.pkl) sets COARSE_PRED_EACH_LAYER False:
    # only the point head's first layer sees the coarse prediction
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
            coarse_pred_each_layer=False)
    ],
    test_cfg=dict(subdivision_num_points=8192, subdivision_steps=2))
