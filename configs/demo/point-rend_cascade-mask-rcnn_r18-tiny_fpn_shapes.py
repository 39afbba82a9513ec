# CPU demo: PointRend on the demo Cascade Mask R-CNN (same backbone, box
# cascade, data, schedule); only the mask branch differs: a coarse head per
# stage, one point head, the stages' coarse masks merged and refined once.
# The cascade recipe (_base_/point-rend_cascade-recipe.py) at the demo's
# width, as the PointRend demo: 64 channels, a 256-wide coarse head.
_base_ = './_base_/point-rend_cascade-recipe.py'

width = 64
model = dict(
    roi_head=dict(
        mask_roi_extractor=dict(out_channels=width),
        mask_head=dict(
            in_channels=width, conv_out_channels=width, fc_out_channels=256),
        point_head=dict(in_channels=width, fc_channels=width)))
