# CPU demo: Implicit PointRend on the demo baseline (same backbone, data,
# schedule): a parameter head gives every box the weights of its point MLP.
_base_ = './point-rend_r18-tiny_fpn_shapes.py'

width = 64
model = dict(
    roi_head=dict(
        mask_head=dict(
            _delete_=True,
            type='PointRendParameterHead',
            in_channels=width,
            roi_feat_size=14,
            conv_out_channels=width,
            num_fcs=2,
            fc_out_channels=256),
        point_head=dict(
            _delete_=True,
            type='PointRendImplicitPointHead',
            in_channels=width,
            channels=width,
            num_layers=4)),
    train_cfg=dict(rcnn=dict(point_sampling='uniform')),
    test_cfg=dict(rcnn=dict(subdivision_steps=3)))
