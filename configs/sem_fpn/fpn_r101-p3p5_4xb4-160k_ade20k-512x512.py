# SemanticFPN R101 with a P3-P5 head, ADE20K: MMSegmentation's SemanticFPN
# ADE20K recipe with in_index 1-3 (output stride 8).
_base_ = 'mmseg::sem_fpn/fpn_r101_4xb4-160k_ade20k-512x512.py'

model = dict(
    decode_head=dict(
        in_channels=[256, 256, 256],
        in_index=[1, 2, 3],
        feature_strides=[8, 16, 32]))

# Testing: mIoU and boundary IoU / F-score (mmpointrend's SegBoundaryMetric)
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='SegBoundaryMetric')
]
