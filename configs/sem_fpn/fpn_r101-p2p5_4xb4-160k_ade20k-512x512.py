# SemanticFPN R101 (P2-P5), ADE20K: MMSegmentation's SemanticFPN ADE20K
# recipe, the baseline of point-rend_fpn_r101-p2p5_4xb4-160k_ade20k-512x512.
_base_ = 'mmseg::sem_fpn/fpn_r101_4xb4-160k_ade20k-512x512.py'

# Testing: mIoU and boundary IoU / F-score (mmpointrend's SegBoundaryMetric)
custom_imports = dict(imports=['mmpointrend'], allow_failed_imports=False)
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='SegBoundaryMetric')
]
