from .demo_config import use_data_root
from .point_sup import (LoadPointAnnotations, PackPointSupInputs,
                        PointAnnotationError, PointSupCocoDataset,
                        sample_point_annotations)
from .synthetic_scenes import CLASSES as SCENE_CLASSES
from .synthetic_scenes import PALETTE as SCENE_PALETTE
from .synthetic_scenes import generate_semantic_scenes
from .synthetic_shapes import CLASSES as SHAPE_CLASSES
from .synthetic_shapes import generate_coco_shapes

__all__ = [
    'SHAPE_CLASSES', 'generate_coco_shapes', 'SCENE_CLASSES', 'SCENE_PALETTE',
    'generate_semantic_scenes', 'use_data_root', 'PointSupCocoDataset',
    'LoadPointAnnotations', 'PackPointSupInputs', 'PointAnnotationError',
    'sample_point_annotations'
]
