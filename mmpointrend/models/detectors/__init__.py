from .point_rend_mask2former import PointRendMask2Former

__all__ = ['PointRendMask2Former']
