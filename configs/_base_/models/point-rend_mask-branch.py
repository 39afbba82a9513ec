# PointRend's mask branch (paper section 4) for a Mask R-CNN FPN config, so
# that a PointRend config is its 4x conv baseline plus this block:
#   _base_ = [BASELINE, '../_base_/models/point-rend_mask-branch.py']
#   model = dict(roi_head={{_base_.point_rend_roi_head}},
#                train_cfg=dict(rcnn={{_base_.point_rend_train_rcnn}}))
# The box branch, data and schedule stay the baseline's. num_classes is the
# baseline's box head's; the coarse and point heads take it from there.
# The paper's point settings are PointRendInstanceRoIHead's defaults:
# training 14x14 points by importance sampling (k=3, beta=0.75); inference
# 5 subdivision steps of 28x28 points, 7x7 -> 224x224.
point_rend_roi_head = dict(
    type='PointRendInstanceRoIHead',
    # 14x14 bilinear samples of P2 per box (the point head reads P2 too)
    mask_roi_extractor=dict(
        _delete_=True,
        type='PointRendGridExtractor',
        featmap_strides=[4],
        featmap_indices=[0],
        out_size=14,
        out_channels=256),
    mask_head=dict(
        _delete_=True,
        type='PointRendCoarseMaskHead',
        in_channels=256,
        roi_feat_size=14,
        conv_out_channels=256,
        num_fcs=2,
        fc_out_channels=1024),
    point_head=dict(
        type='PointRendPointHead',
        in_channels=256,
        fc_channels=256,
        num_fcs=3,
        coarse_pred_each_layer=True))
point_rend_train_rcnn = dict(
    mask_size=7,  # the coarse head's output (roi_feat_size / 2)
    # detectron2's TRAIN_ON_PRED_BOXES: the mask branch trains on the box
    # head's regressed boxes (paper section 4, ~+0.2 AP)
    mask_on_refined_boxes=True)

# The same branch on a cascade host (Cascade Mask R-CNN, HTC), whose
# train_cfg.rcnn is a list of stages (the host's stay as they are):
#   _base_ = [CASCADE_BASELINE, '../_base_/models/point-rend_mask-branch.py']
#   model = dict(roi_head={{_base_.point_rend_cascade_roi_head}})
# (HTC: point_rend_htc_roi_head.) One coarse head per stage, trained on the
# stage's proposals; one point head; at test time the stages' coarse masks
# are merged (mean probability) and refined once. stage_train_cfg is laid
# over every stage of train_cfg.rcnn: the coarse targets are 7x7, not the
# FCN's 28x28; the point settings are the defaults above.
point_rend_cascade_roi_head = dict(
    point_rend_roi_head,
    type='PointRendCascadeRoIHead',
    stage_train_cfg=dict(mask_size=7))
# HTC's box cascade, semantic branch (fused into every coarse head's grid)
# and interleaved training are kept; the mask information flow passes FCN
# feature maps between stages, which the coarse head has not (off).
point_rend_htc_roi_head = dict(
    point_rend_cascade_roi_head,
    type='PointRendHTCRoIHead',
    mask_info_flow=False)
