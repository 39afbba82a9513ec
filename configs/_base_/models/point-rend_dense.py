# PointRend on one-stage hosts (one mask per instance, no RoIs): the
# PointRendDenseRefiner settings. RTMDet-Ins: a config is mmdet's config
# plus this block:
#   _base_ = [RTMDET_INS, '../_base_/models/point-rend_dense.py']
#   model = dict(backbone=dict(out_indices=(1, 2, 3, 4)),
#                neck=dict(_delete_=True, type='FineLevelNeck',
#                          neck={{_base_.model.neck}}),
#                bbox_head=dict(type='PointRendRTMDetInsHead',
#                               point_rend=dict(
#                                   {{_base_.point_rend_dense}},
#                                   fine_channels=STAGE1_CHANNELS)))
# The backbone's stride-4 stage (out_indices 1) is the point head's fine map
# (FineLevelNeck passes it by the neck). Each instance's stride-8 logits are
# resampled on a 28x28 grid of its box; training adds a point loss at 14x14
# importance-sampled points per positive (k=3, beta=0.75) in its
# ground-truth box; inference refines up to the image's resolution (28x28
# points per step, each box stopping at its own size). Mask2Former
# (stride-4 masks): configs/point_rend_dense/point-rend_mask2former_*.
point_rend_dense = dict(
    point_head=dict(
        type='PointRendPointHead',
        num_classes=1,
        # a lighter MLP than the paper's 3 x 256 for a real-time host
        fc_channels=128,
        num_fcs=3),
    coarse_size=28,
    train_cfg=dict(
        num_points=14 * 14, oversample_ratio=3, importance_sample_ratio=0.75),
    test_cfg=dict(
        subdivision_steps=5,
        subdivision_num_points=28 * 28,
        adaptive_resolution=True))
