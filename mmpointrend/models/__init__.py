"""Importing this package registers every mmpointrend model module."""
from .mask_heads import PointRendCoarseMaskHead, PointRendPointHead
from .roi_extractors import PointRendGridExtractor
from .roi_heads import PointRendInstanceRoIHead

__all__ = [
    'PointRendCoarseMaskHead', 'PointRendPointHead', 'PointRendGridExtractor',
    'PointRendInstanceRoIHead'
]
