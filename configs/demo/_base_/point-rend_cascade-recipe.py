# The README's cascade recipe ("PointRend on your model") applied as it is
# to the demo Cascade Mask R-CNN. Not built alone: the block's heads are
# 256 channels wide and the demo's FPN 64; the demo config on top of it
# (../point-rend_cascade-mask-rcnn_r18-tiny_fpn_shapes.py) sets the widths.
_base_ = [
    '../cascade-mask-rcnn_r18-tiny_fpn_shapes.py',
    '../../_base_/models/point-rend_mask-branch.py'
]
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)
model = dict(roi_head={{_base_.point_rend_cascade_roi_head}})
