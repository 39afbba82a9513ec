from .point_rend_cascade_head import (PointRendCascadeRoIHead,
                                      PointRendHTCRoIHead)
from .point_rend_instance_head import PointRendInstanceRoIHead
from .point_rend_mask_branch import PointRendMaskBranch, paste_masks

__all__ = [
    'PointRendInstanceRoIHead', 'PointRendCascadeRoIHead',
    'PointRendHTCRoIHead', 'PointRendMaskBranch', 'paste_masks'
]
