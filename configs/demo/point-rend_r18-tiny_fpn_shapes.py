# CPU demo: PointRend on the demo baseline (same backbone, data, schedule);
# only the mask branch differs, as in the COCO configs.
_base_ = './mask-rcnn_r18-tiny_fpn_shapes.py'

custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

num_classes = 4
width = 64
model = dict(
    roi_head=dict(
        type='PointRendInstanceRoIHead',
        mask_roi_extractor=dict(
            _delete_=True,
            type='PointRendGridExtractor',
            featmap_strides=[4],
            featmap_indices=[0],
            out_size=14,
            out_channels=width),
        mask_head=dict(
            _delete_=True,
            type='PointRendCoarseMaskHead',
            num_classes=num_classes,
            in_channels=width,
            roi_feat_size=14,
            conv_out_channels=width,
            num_fcs=2,
            fc_out_channels=256),
        point_head=dict(
            type='PointRendPointHead',
            num_classes=num_classes,
            in_channels=width,
            fc_channels=width,
            num_fcs=3,
            coarse_pred_each_layer=True)),
    train_cfg=dict(
        rcnn=dict(
            mask_size=7,
            num_points=14 * 14,
            oversample_ratio=3,
            importance_sample_ratio=0.75)),
    test_cfg=dict(
        rcnn=dict(
            subdivision_steps=5,
            subdivision_num_points=28 * 28,
            scale_factor=2)))
