# PointRend on Mask R-CNN Swin-T-FPN, COCO 1x: mmdet's config (backbone,
# AdamW schedule, data) plus the PointRend mask branch.
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
    '../_base_/models/point-rend_mask-branch.py'
]
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

model = dict(
    roi_head={{_base_.point_rend_roi_head}},
    train_cfg=dict(rcnn={{_base_.point_rend_train_rcnn}}))
