from .coarse_mask_head import PointRendCoarseMaskHead
from .point_head import PointRendPointHead

__all__ = ['PointRendCoarseMaskHead', 'PointRendPointHead']
