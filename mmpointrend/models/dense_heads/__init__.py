from .logit_ranked_rpn_head import LogitRankedRPNHead
from .point_rend_dense_refiner import PointRendDenseRefiner
from .point_rend_mask2former_head import PointRendMask2FormerHead
from .point_rend_rtmdet_ins_head import PointRendRTMDetInsHead

__all__ = [
    'LogitRankedRPNHead', 'PointRendDenseRefiner', 'PointRendRTMDetInsHead',
    'PointRendMask2FormerHead'
]
