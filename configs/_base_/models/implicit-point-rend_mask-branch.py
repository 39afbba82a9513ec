# Implicit PointRend's mask branch (Cheng, Parkhi, Kirillov, CVPR 2022;
# detectron2's Base-Implicit-PointRend.yaml) for a Mask R-CNN FPN config:
#   _base_ = [BASELINE, '../_base_/models/implicit-point-rend_mask-branch.py']
#   model = dict(roi_head={{_base_.implicit_point_rend_roi_head}},
#                train_cfg=dict(rcnn={{_base_.implicit_point_rend_train_rcnn}}),
#                test_cfg=dict(rcnn={{_base_.implicit_point_rend_test_rcnn}}))
# A parameter head (the coarse head's layers) predicts, per box, the 283,472
# weights of a 4-layer MLP that a point reads with its positional encoding
# and P2 features; no coarse mask. Trained on 14x14 uniform points per box
# (+ an L2 penalty 1e-5 on the parameters); inference predicts a 28x28 grid,
# then 3 subdivision steps of 28x28 points to 224x224.
_base_ = './point-rend_mask-branch.py'

implicit_point_rend_roi_head = dict(
    type='PointRendInstanceRoIHead',
    # the same 14x14 grid of P2 per box as PointRend's coarse head
    mask_roi_extractor={{_base_.point_rend_roi_head.mask_roi_extractor}},
    mask_head=dict(
        _delete_=True,
        type='PointRendParameterHead',
        in_channels=256,
        roi_feat_size=14,
        conv_out_channels=256,
        num_fcs=2,
        fc_out_channels=1024,
        regularizer=1e-5),
    point_head=dict(
        type='PointRendImplicitPointHead',
        in_channels=256,
        channels=256,
        num_layers=4,
        image_feature_enabled=True,
        pos_enc_enabled=True))
implicit_point_rend_train_rcnn = dict(
    num_points=14 * 14, point_sampling='uniform')
implicit_point_rend_test_rcnn = dict(
    subdivision_steps=3, subdivision_num_points=28 * 28)
