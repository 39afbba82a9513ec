from .coarse_mask_head import PointRendCoarseMaskHead, PointRendParameterHead
from .implicit_point_head import PointRendImplicitPointHead
from .point_head import BasePointHead, PointRendPointHead

__all__ = [
    'PointRendCoarseMaskHead', 'PointRendParameterHead', 'BasePointHead',
    'PointRendPointHead', 'PointRendImplicitPointHead'
]
