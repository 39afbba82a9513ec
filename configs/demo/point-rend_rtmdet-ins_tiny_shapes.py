# CPU demo: the RTMDet-Ins tiny baseline plus the dense PointRend block
# (configs/point_rend_dense/point-rend_rtmdet-ins_tiny_8xb32-300e_coco.py's
# lines): same data and schedule.
_base_ = [
    './rtmdet-ins_tiny_shapes.py', '../_base_/models/point-rend_dense.py'
]
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

model = dict(
    backbone=dict(out_indices=(1, 2, 3, 4)),
    neck=dict(_delete_=True, type='FineLevelNeck', neck={{_base_.model.neck}}),
    bbox_head=dict(
        type='PointRendRTMDetInsHead',
        point_rend=dict(**_base_.point_rend_dense, fine_channels=48)))
