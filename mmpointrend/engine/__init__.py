from .checkpoint import (AtomicCheckpointHook, AtomicLocalBackend,
                         atomic_write, checkpoint_is_readable,
                         newest_readable_checkpoint)
from .optim_wrapper import NonFiniteLossOptimWrapper

__all__ = [
    'NonFiniteLossOptimWrapper', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'atomic_write', 'checkpoint_is_readable', 'newest_readable_checkpoint'
]
