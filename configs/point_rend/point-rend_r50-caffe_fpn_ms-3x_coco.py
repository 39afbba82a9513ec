# PointRend R50-FPN, COCO, 3x: its 4x conv baseline's 3x schedule.
# Its 4x conv baseline (same backbone, data, schedule) is the first base;
# the second adds the PointRend mask branch.
_base_ = [
    '../mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-poly-3x-iter_coco.py',
    '../_base_/models/point-rend_mask-branch.py'
]

model = dict(
    roi_head={{_base_.point_rend_roi_head}},
    train_cfg=dict(rcnn={{_base_.point_rend_train_rcnn}}))
