# CPU demo: PointRend on the demo Cascade Mask R-CNN (same backbone, box
# cascade, data, schedule); only the mask branch differs: a coarse head per
# stage, one point head, the stages' coarse masks merged and refined once.
# (The block's point_rend_cascade_roi_head at the demo's width.)
_base_ = './cascade-mask-rcnn_r18-tiny_fpn_shapes.py'

custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)

num_classes = 4
width = 64
model = dict(
    roi_head=dict(
        type='PointRendCascadeRoIHead',
        stage_train_cfg=dict(mask_size=7),
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
            coarse_pred_each_layer=True)))
