# PointRend R101-FPN (caffe-style, detectron2's MSRA weights), COCO, 1x.
# Baseline: ../mask_rcnn/mask-rcnn_r101-caffe_fpn_ms-poly-1x-iter_coco.py
# Its 4x conv baseline (same backbone, data, schedule) is the first base;
# the second adds the PointRend mask branch.
_base_ = [
    '../mask_rcnn/mask-rcnn_r101-caffe_fpn_ms-poly-1x-iter_coco.py',
    '../_base_/models/point-rend_mask-branch.py'
]

model = dict(
    roi_head={{_base_.point_rend_roi_head}},
    train_cfg=dict(rcnn={{_base_.point_rend_train_rcnn}}))
