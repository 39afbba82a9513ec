# Semantic PointRend (paper section 5) as the second head of a
# CascadeEncoderDecoder whose first head is the baseline's own decode head:
#   _base_ = [BASELINE, '../_base_/models/point-rend_semantic-head.py']
#   model = dict(type='CascadeEncoderDecoder', num_stages=2,
#                decode_head=[{{_base_.model.decode_head}},
#                             {{_base_.point_rend_head_cityscapes}}], ...)
# Fine-grained features: the first backbone / neck output (P2 or res2, 256
# channels); a 3 x 256 MLP with the coarse logits in every layer.
point_rend_head_cityscapes = dict(
    type='PointRendSemanticHead',
    num_classes=19,
    in_channels=[256],
    in_index=[0],
    channels=256,
    num_fcs=3,
    coarse_pred_each_layer=True)
point_rend_head_ade20k = dict(point_rend_head_cityscapes, num_classes=150)
# detectron2's current Base-PointRend-Semantic-FPN.yaml (zoo model
# 202576688): only the first layer sees the coarse prediction, and the
# point loss is averaged over the points that are not ignored (detectron2's
# F.cross_entropy(..., ignore_index=255); mmseg's default averages over all)
authors_cross_entropy = dict(
    type='CrossEntropyLoss',
    use_sigmoid=False,
    loss_weight=1.0,
    avg_non_ignore=True)
point_rend_head_d2zoo = dict(
    point_rend_head_cityscapes,
    coarse_pred_each_layer=False,
    loss_decode=authors_cross_entropy)
# subdivision until the input resolution with 8096 points per step (the
# paper's N: the points of a stride-16 map of 1024x2048)
point_rend_test_cfg = dict(
    subdivision_num_points=8096, subdivision_steps=None, scale_factor=2)
# training points: as many as a stride-16 map of the crop has (paper
# section 5), k=3, beta=0.75
point_rend_train_cfg_512x1024 = dict(
    num_points=32 * 64, oversample_ratio=3, importance_sample_ratio=0.75)
point_rend_train_cfg_512x512 = dict(
    point_rend_train_cfg_512x1024, num_points=32 * 32)
point_rend_train_cfg_768x768 = dict(
    point_rend_train_cfg_512x1024, num_points=48 * 48)
