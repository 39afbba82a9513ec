"""Let ``torch.load(weights_only=True)`` read mmengine's own checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, which only
unpickles allow-listed globals. mmengine 0.10.7 stores its ``MessageHub``
state in every checkpoint: ``HistoryBuffer`` objects holding numpy arrays,
numpy scalars and, inside each buffer, its statistics methods pickled as
``getattr(HistoryBuffer, 'mean')``. Without this module ``--resume`` and
``load_from`` fail with ``UnpicklingError: Weights only load failed``
(mmengine issue 1655).

We allow-list exactly those globals. ``getattr`` is *not* allowed as such
(with it a pickle could walk to ``eval``): the name ``builtins.getattr`` is
bound to :func:`history_buffer_getattr`, which only returns public methods
defined on ``HistoryBuffer`` itself. ``weights_only`` stays on for every file.
"""
import numpy as np
import torch

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals',
    'history_buffer_getattr'
]


def history_buffer_getattr(obj, name: str):
    """``getattr`` restricted to ``HistoryBuffer``'s own public methods.

    Raises:
        pickle.UnpicklingError: for anything else.
    """
    import pickle

    from mmengine.logging import HistoryBuffer
    attr = HistoryBuffer.__dict__.get(name) if obj is HistoryBuffer else None
    if name.startswith('_') or not callable(attr):
        raise pickle.UnpicklingError(
            f'checkpoint asks for getattr({obj!r}, {name!r}); mmpointrend '
            'only allows public methods of mmengine HistoryBuffer here')
    return getattr(HistoryBuffer, name)


def checkpoint_safe_globals() -> list:
    """The globals an mmengine checkpoint pickles, as ``add_safe_globals``
    entries."""
    from mmengine.logging import HistoryBuffer
    try:
        from numpy.core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy >= 2 moved them
        from numpy._core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t))
        for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                  np.int32, np.int64, np.uint8, np.bool_)
    ]
    return [
        HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype,
        *dtype_classes, (history_buffer_getattr, 'builtins.getattr')
    ]


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's allow-list
    (idempotent)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 does not restrict unpickling by default
        return
    add(checkpoint_safe_globals())
