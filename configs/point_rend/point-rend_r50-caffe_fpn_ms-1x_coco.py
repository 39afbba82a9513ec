# PointRend, Mask R-CNN R50-FPN (caffe-style, frozen BN), COCO, the paper's
# 1x schedule (appendix A; set in the base config).
# Its 4x conv baseline (same backbone, data, schedule) is the first base;
# the second adds the PointRend mask branch.
_base_ = [
    '../mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py',
    '../_base_/models/point-rend_mask-branch.py'
]

model = dict(
    roi_head={{_base_.point_rend_roi_head}},
    train_cfg=dict(rcnn={{_base_.point_rend_train_rcnn}}))
