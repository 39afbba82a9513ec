# PointRend R50-FPN, Cityscapes instance (8 classes), the paper's schedule.
# Its 4x conv baseline (same backbone, data, schedule) is the base config.
_base_ = '../mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-24k_cityscapes.py'

custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

num_classes = 8  # stated once; the RoI head checks its heads agree
model = dict(
    roi_head=dict(
        type='PointRendInstanceRoIHead',
        bbox_head=dict(num_classes=num_classes),
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
            num_classes=num_classes,
            in_channels=256,
            roi_feat_size=14,
            conv_out_channels=256,
            num_fcs=2,
            fc_out_channels=1024),
        point_head=dict(
            type='PointRendPointHead',
            num_classes=num_classes,
            in_channels=256,
            fc_channels=256,
            num_fcs=3,
            coarse_pred_each_layer=True)),
    train_cfg=dict(
        rcnn=dict(
            mask_size=7,
            num_points=14 * 14,
            oversample_ratio=3,
            importance_sample_ratio=0.75,
            point_sampling='importance',
            # detectron2's TRAIN_ON_PRED_BOXES: the mask branch trains on
            # the box head's regressed boxes (paper section 4, ~+0.2 AP)
            mask_on_refined_boxes=True)),
    test_cfg=dict(
        rcnn=dict(
            subdivision_steps=5,
            subdivision_num_points=28 * 28,
            scale_factor=2)))
