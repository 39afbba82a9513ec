from .point_rend_instance_head import PointRendInstanceRoIHead, paste_masks

__all__ = ['PointRendInstanceRoIHead', 'paste_masks']
