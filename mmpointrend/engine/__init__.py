from .checkpoint import (AtomicCheckpointHook, AtomicLocalBackend,
                         atomic_write, checkpoint_is_readable,
                         newest_readable_checkpoint)
from .class_aware_load import ClassAwareLoadHook, checkpoint_classes
from .optim_wrapper import CPUBF16OptimWrapper, NonFiniteLossOptimWrapper

__all__ = [
    'NonFiniteLossOptimWrapper', 'CPUBF16OptimWrapper', 'AtomicCheckpointHook',
    'AtomicLocalBackend', 'atomic_write', 'checkpoint_is_readable',
    'newest_readable_checkpoint', 'ClassAwareLoadHook', 'checkpoint_classes'
]
