"""How the mask branch chooses its training points and their labels."""
from .annotated_point_sampler import AnnotatedPointSampler
from .base import PositiveBoxes, TrainingPoints, TrainingPointStrategy
from .mask_point_sampler import GroundTruthRaster, MaskPointSampler

__all__ = [
    'TrainingPoints', 'PositiveBoxes', 'TrainingPointStrategy',
    'MaskPointSampler', 'AnnotatedPointSampler', 'GroundTruthRaster'
]
