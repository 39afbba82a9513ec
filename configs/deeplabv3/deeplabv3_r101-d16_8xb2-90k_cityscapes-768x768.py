# DeepLabV3 ResNet-103 at output stride 16 (the coarse model PointRend
# refines, paper Table 6); otherwise as the OS8 config.
_base_ = './deeplabv3_r101-d8_8xb2-90k_cityscapes-768x768.py'

model = dict(
    backbone=dict(dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1)),
    decode_head=dict(dilations=(1, 6, 12, 18)))
