"""Importing this package registers every mmpointrend model module."""
from .decode_heads import PointRendSemanticHead
from .dense_heads import LogitRankedRPNHead, PointRendRTMDetInsHead
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
    'PointRendRTMDetInsHead', 'FineLevelNeck'
]
