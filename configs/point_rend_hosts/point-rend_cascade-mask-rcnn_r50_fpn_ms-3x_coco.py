# PointRend on Cascade Mask R-CNN R50-FPN, COCO 3x multi-scale: mmdet's
# config (its 4x conv baseline) plus the PointRend mask branch.
_base_ = [
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_ms-3x_coco.py',
    '../_base_/models/point-rend_mask-branch.py'
]
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

model = dict(roi_head={{_base_.point_rend_cascade_roi_head}})
