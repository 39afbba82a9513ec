"""Let ``torch.load(weights_only=True)`` read mmengine's own checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, which only
unpickles allow-listed types. mmengine 0.10.7 stores its ``MessageHub`` state
in every checkpoint: ``HistoryBuffer`` objects holding numpy arrays, and
numpy scalars in ``meta``. Without this, ``--resume`` and ``load_from`` fail
with ``UnpicklingError: Weights only load failed`` (mmengine issue 1655).

We allow-list exactly those classes, and nothing that can run code:
``weights_only`` stays on for every file.
"""
import numpy as np
import torch

__all__ = ['checkpoint_safe_globals', 'register_checkpoint_safe_globals']


def checkpoint_safe_globals() -> list:
    """The classes and reconstructors an mmengine checkpoint pickles."""
    from mmengine.logging import HistoryBuffer
    try:
        from numpy.core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy >= 2 moved them
        from numpy._core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
        np.int64, np.uint8, np.bool_)]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype,
            *dtype_classes]


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's allow-list (idempotent)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 does not restrict unpickling by default
        return
    known = set(map(id, torch.serialization.get_safe_globals()))
    add([g for g in checkpoint_safe_globals() if id(g) not in known])
