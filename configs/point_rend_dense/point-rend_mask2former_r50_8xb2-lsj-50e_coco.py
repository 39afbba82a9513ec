# PointRend on Mask2Former R50 (COCO instance): mmdet's config plus the
# dense PointRend block. The coarse prediction of an instance is its query's
# stride-4 mask logit, resampled on a 56x56 grid of its box (a 224 px box at
# the host's resolution); the fine map is the pixel decoder's stride-4 mask
# features (256 channels); the paper's point MLP (3 x 256).
_base_ = [
    'mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco.py',
    '../_base_/models/point-rend_dense.py'
]
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

model = dict(
    type='PointRendMask2Former',
    panoptic_head=dict(
        type='PointRendMask2FormerHead',
        point_rend=dict(
            _base_.point_rend_dense,
            point_head=dict(
                _base_.point_rend_dense.point_head, fc_channels=256),
            fine_channels=256,
            coarse_size=56,
            test_cfg=dict(
                _base_.point_rend_dense.test_cfg, subdivision_steps=4))))
