# PointRend on HTC R50-FPN, COCO 1x: mmdet's config (box cascade, semantic
# branch on COCO-stuff maps, interleaved training, data, schedule) plus the
# PointRend mask branch in place of HTC's FCN heads (no mask information
# flow: see PointRendHTCRoIHead).
_base_ = [
    'mmdet::htc/htc_r50_fpn_1x_coco.py',
    '../_base_/models/point-rend_mask-branch.py'
]
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

model = dict(roi_head={{_base_.point_rend_htc_roi_head}})
