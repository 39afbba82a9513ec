from .logit_ranked_rpn_head import LogitRankedRPNHead
from .point_rend_dense_refiner import PointRendDenseRefiner
from .point_rend_rtmdet_ins_head import PointRendRTMDetInsHead

__all__ = [
    'LogitRankedRPNHead', 'PointRendDenseRefiner', 'PointRendRTMDetInsHead'
]
