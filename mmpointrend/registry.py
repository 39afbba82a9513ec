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
    'seg_registries', 'add_function_scopes'
]


def add_function_scopes() -> None:
    """Give mmengine's ``FUNCTIONS`` registry an ``mmdet`` and an ``mmseg``
    node when they have none.

    Neither package defines a function registry, so every scope switch on
    ``FUNCTIONS`` made under their scope (mmengine's inferencers look up the
    test ``collate_fn`` that way: ``DetInferencer``, ``MMSegInferencer``)
    logs "Failed to search registry with scope "mmdet" in the "function"
    registry tree" and falls back to the root. The empty child nodes are
    what that search expects; every lookup still reaches the root's
    functions (``pseudo_collate``, the uncertainty functions) through them.
    """
    from importlib import import_module

    from mmengine.registry import FUNCTIONS, Registry
    for scope in ('mmdet', 'mmseg'):
        try:  # its own registries first, should a later version add one
            import_module(f'{scope}.registry')
        except ImportError:
            continue
        if scope not in FUNCTIONS.children:
            Registry('function', parent=FUNCTIONS, scope=scope)


def seg_registries():
    """MMSegmentation's ``(MODELS, METRICS)``, or ``(None, None)``."""
    try:
        from mmseg.registry import METRICS, MODELS
    except ImportError:  # mmsegmentation is optional for instance users
        return None, None
    return MODELS, METRICS
