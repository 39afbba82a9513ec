from .coarse_mask_head import PointRendCoarseMaskHead
from .point_head import BasePointHead, PointRendPointHead

__all__ = ['PointRendCoarseMaskHead', 'BasePointHead', 'PointRendPointHead']
