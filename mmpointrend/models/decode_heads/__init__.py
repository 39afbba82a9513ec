from .point_rend_semantic_head import PointRendSemanticHead

__all__ = ['PointRendSemanticHead']
