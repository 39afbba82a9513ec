from ..utils import paste_masks
from .point_rend_cascade_head import (PointRendCascadeRoIHead,
                                      PointRendHTCRoIHead)
from .point_rend_host import (PointRendCascadeHost, PointRendHost,
                              PointRendHostBase)
from .point_rend_instance_head import PointRendInstanceRoIHead
from .point_rend_mask_branch import PointRendMaskBranch

__all__ = [
    'PointRendInstanceRoIHead', 'PointRendCascadeRoIHead',
    'PointRendHTCRoIHead', 'PointRendMaskBranch', 'PointRendHost',
    'PointRendCascadeHost', 'PointRendHostBase', 'paste_masks'
]
