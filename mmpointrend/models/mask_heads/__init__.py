from .coarse_mask_head import (BaseCoarseHead, ConvFCCoarseHead,
                               PointRendCoarseMaskHead, PointRendParameterHead)
from .implicit_point_head import PointRendImplicitPointHead
from .point_head import BasePointHead, PointRendPointHead

__all__ = [
    'BaseCoarseHead', 'ConvFCCoarseHead', 'PointRendCoarseMaskHead',
    'PointRendParameterHead', 'BasePointHead', 'PointRendPointHead',
    'PointRendImplicitPointHead'
]
