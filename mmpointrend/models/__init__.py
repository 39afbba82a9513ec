"""Importing this package registers every mmpointrend model module."""
from .decode_heads import PointRendSemanticHead
from .dense_heads import (LogitRankedRPNHead, PointRendMask2FormerHead,
                          PointRendRTMDetInsHead)
from .detectors import PointRendMask2Former
from .losses import PointSampledMaskLoss
from .mask_heads import PointRendCoarseMaskHead, PointRendPointHead
from .necks import FineLevelNeck
from .roi_extractors import PointRendGridExtractor
from .roi_heads import (PointRendCascadeRoIHead, PointRendHTCRoIHead,
                        PointRendInstanceRoIHead)
from .segmentors import StackedEncoderDecoder

__all__ = [
    'PointRendSemanticHead', 'LogitRankedRPNHead', 'PointRendCoarseMaskHead',
    'PointRendPointHead', 'PointRendGridExtractor', 'PointRendInstanceRoIHead',
    'PointRendCascadeRoIHead', 'PointRendHTCRoIHead', 'StackedEncoderDecoder',
    'PointRendRTMDetInsHead', 'FineLevelNeck', 'PointSampledMaskLoss',
    'PointRendMask2FormerHead', 'PointRendMask2Former'
]
