from .optim_wrapper import NonFiniteLossOptimWrapper

__all__ = ['NonFiniteLossOptimWrapper']
