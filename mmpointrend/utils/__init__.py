from .checkpoint import (checkpoint_safe_globals,
                         register_checkpoint_safe_globals)
from .memory import PeakMemory

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals', 'PeakMemory'
]
