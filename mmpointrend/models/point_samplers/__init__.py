"""How the mask branch chooses its training points and their labels."""
from .annotated_point_sampler import AnnotatedPointSampler
from .base import TrainingPoints
from .mask_point_sampler import GroundTruthRaster, MaskPointSampler

__all__ = [
    'TrainingPoints', 'MaskPointSampler', 'AnnotatedPointSampler',
    'GroundTruthRaster'
]
