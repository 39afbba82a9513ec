# SemanticFPN R101 with only P3-P5 in the head (output stride 8), paper
# Table 7; otherwise as the P2-P5 config.
_base_ = './fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py'

model = dict(
    decode_head=dict(
        in_channels=[256, 256, 256],
        in_index=[1, 2, 3],
        feature_strides=[8, 16, 32]))
