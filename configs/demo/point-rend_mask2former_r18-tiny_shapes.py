# CPU demo: the Mask2Former baseline plus the dense PointRend block
# (configs/point_rend_dense/point-rend_mask2former_r50_8xb2-lsj-50e_coco.py's
# lines, fine map at the demo's 64 channels): same data and schedule.
_base_ = [
    './mask2former_r18-tiny_shapes.py', '../_base_/models/point-rend_dense.py'
]
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

model = dict(
    type='PointRendMask2Former',
    panoptic_head=dict(
        type='PointRendMask2FormerHead',
        point_rend=dict(
            _base_.point_rend_dense,
            fine_channels=64,
            coarse_size=56,
            test_cfg=dict(
                _base_.point_rend_dense.test_cfg, subdivision_steps=4))))
