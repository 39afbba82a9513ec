"""Registries mmpointrend adds its modules to.

Instance modules go to MMDetection's ``MODELS``, semantic modules to
MMSegmentation's. The point head serves both tasks and is registered in both.
MMSegmentation is imported lazily so that an MMDetection-only install works.
"""
from mmdet.registry import DATASETS as DET_DATASETS
from mmdet.registry import METRICS as DET_METRICS
from mmdet.registry import MODELS as DET_MODELS
from mmdet.registry import TRANSFORMS as DET_TRANSFORMS

__all__ = [
    'DET_MODELS', 'DET_METRICS', 'DET_DATASETS', 'DET_TRANSFORMS',
    'seg_registries'
]


def seg_registries():
    """MMSegmentation's ``(MODELS, METRICS)``, or ``(None, None)``."""
    try:
        from mmseg.registry import METRICS, MODELS
    except ImportError:  # mmsegmentation is optional for instance users
        return None, None
    return MODELS, METRICS
