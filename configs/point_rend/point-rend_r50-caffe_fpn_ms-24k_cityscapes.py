# PointRend R50-FPN, Cityscapes instance (8 classes), the paper's schedule.
# Its 4x conv baseline (same backbone, data, schedule) is the first base;
# the second adds the PointRend mask branch.
_base_ = [
    '../mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-24k_cityscapes.py',
    '../_base_/models/point-rend_mask-branch.py'
]

model = dict(
    roi_head={{_base_.point_rend_roi_head}},
    train_cfg=dict(rcnn={{_base_.point_rend_train_rcnn}}))
