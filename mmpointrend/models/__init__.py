"""Importing this package registers every mmpointrend model module."""
from .decode_heads import PointRendSemanticHead
from .dense_heads import LogitRankedRPNHead
from .mask_heads import PointRendCoarseMaskHead, PointRendPointHead
from .roi_extractors import PointRendGridExtractor
from .roi_heads import PointRendInstanceRoIHead

__all__ = [
    'PointRendSemanticHead', 'LogitRankedRPNHead', 'PointRendCoarseMaskHead',
    'PointRendPointHead', 'PointRendGridExtractor', 'PointRendInstanceRoIHead'
]
