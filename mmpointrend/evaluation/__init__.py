"""Metrics PointRend users need beside mask AP / mIoU."""
from .ap_star import (COCO_LVIS_SYNSETS, LVISAPStarMetric, cocofy_lvis,
                      cocofy_lvis_files, lvis_evaluate, numpy_float_alias)
from .boundary import boundary_band, boundary_dilation, boundary_iou
from .coco_boundary_metric import BoundaryCOCOeval, CocoBoundaryMetric
from .seg_boundary_metric import SegBoundaryMetric

__all__ = [
    'boundary_band', 'boundary_dilation', 'boundary_iou', 'BoundaryCOCOeval',
    'CocoBoundaryMetric', 'SegBoundaryMetric', 'LVISAPStarMetric',
    'COCO_LVIS_SYNSETS', 'cocofy_lvis', 'cocofy_lvis_files', 'lvis_evaluate',
    'numpy_float_alias'
]
