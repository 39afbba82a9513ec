"""mmpointrend: PointRend for MMDetection 3.x and MMSegmentation 1.x.

``import mmpointrend`` (or ``custom_imports=dict(imports=['mmpointrend'])``)
registers every module and makes checkpoints written by mmengine loadable on
torch >= 2.6.
"""
from .registry import add_function_scopes
from .utils import register_checkpoint_safe_globals
from .version import __version__

register_checkpoint_safe_globals()
add_function_scopes()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
