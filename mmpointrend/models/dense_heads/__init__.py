from .logit_ranked_rpn_head import LogitRankedRPNHead

__all__ = ['LogitRankedRPNHead']
