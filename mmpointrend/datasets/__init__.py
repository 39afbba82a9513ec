from .synthetic_shapes import CLASSES as SHAPE_CLASSES
from .synthetic_shapes import generate_coco_shapes

__all__ = ['SHAPE_CLASSES', 'generate_coco_shapes']
