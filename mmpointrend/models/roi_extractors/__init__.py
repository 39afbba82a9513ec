from .grid_point_extractor import PointRendGridExtractor

__all__ = ['PointRendGridExtractor']
