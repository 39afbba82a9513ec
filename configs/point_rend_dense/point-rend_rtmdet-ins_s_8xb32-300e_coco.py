# PointRend on RTMDet-Ins s: mmdet's config plus the dense PointRend block;
# the backbone's stride-4 stage (64 channels) is the fine map.
_base_ = [
    'mmdet::rtmdet/rtmdet-ins_s_8xb32-300e_coco.py',
    '../_base_/models/point-rend_dense.py'
]
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

model = dict(
    backbone=dict(out_indices=(1, 2, 3, 4)),
    neck=dict(_delete_=True, type='FineLevelNeck', neck={{_base_.model.neck}}),
    bbox_head=dict(
        type='PointRendRTMDetInsHead',
        point_rend=dict(**_base_.point_rend_dense, fine_channels=64)))
