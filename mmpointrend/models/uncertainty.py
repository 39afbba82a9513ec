"""Uncertainty functions, chosen by name in the heads' configs.

Registered in mmengine's ``FUNCTIONS`` registry (seen from mmdet's and
mmseg's scopes), as detectron2 and mmseg let a researcher swap the point
selection measure: ``uncertainty='binary_uncertainty'`` (instance default,
``-|logit|``) or ``'margin_uncertainty'`` (semantic default, top-2 minus
top-1), or any function registered the same way.
"""
from typing import Callable, Union

from mmengine.registry import FUNCTIONS

from .utils import UncertaintyFn, binary_uncertainty, margin_uncertainty

FUNCTIONS.register_module(module=binary_uncertainty)
FUNCTIONS.register_module(module=margin_uncertainty)


def build_uncertainty(spec: Union[str, Callable]) -> UncertaintyFn:
    """A registered uncertainty function by name, or a callable as is."""
    if callable(spec):
        return spec
    fn = FUNCTIONS.get(spec)
    if fn is None:
        raise KeyError(f'unknown uncertainty function {spec!r}: register it '
                       "in mmengine's FUNCTIONS (known here: "
                       "'binary_uncertainty', 'margin_uncertainty')")
    return fn
