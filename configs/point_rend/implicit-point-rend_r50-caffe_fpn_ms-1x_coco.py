# Implicit PointRend R50-FPN (caffe-style, frozen BN), COCO, the 1x schedule
# (detectron2's implicit_pointrend_R_50_FPN_1x_coco.yaml). Its 4x conv
# baseline (same backbone, data, schedule) is the first base; the second
# adds the implicit mask branch.
_base_ = [
    '../mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py',
    '../_base_/models/implicit-point-rend_mask-branch.py'
]

model = dict(
    roi_head={{_base_.implicit_point_rend_roi_head}},
    train_cfg=dict(rcnn={{_base_.implicit_point_rend_train_rcnn}}),
    test_cfg=dict(rcnn={{_base_.implicit_point_rend_test_rcnn}}))
