"""Optimizer wrappers: refuse non-finite losses; bf16 autocast on the CPU."""
import contextlib
import logging

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class NonFiniteLossOptimWrapper(OptimWrapper):
    """mmengine's ``OptimWrapper`` with a check of the loss before backward.

    A NaN or infinite loss never reaches the weights: with
    ``on_nonfinite='raise'`` training stops with a ``FloatingPointError``
    naming the iteration (the weights, and the last checkpoint, are those of
    the last finite step); with ``'skip'`` the step is skipped with a
    warning and training goes on.

    Use it in a config with
    ``optim_wrapper = dict(type='NonFiniteLossOptimWrapper',
    on_nonfinite='skip', optimizer=...)``.

    Args:
        on_nonfinite (str): ``'raise'`` or ``'skip'``. Defaults to
            ``'raise'``.
        **kwargs: :class:`OptimWrapper` arguments.
    """

    def __init__(self, *args, on_nonfinite: str = 'raise', **kwargs) -> None:
        if on_nonfinite not in ('raise', 'skip'):
            raise ValueError("on_nonfinite must be 'raise' or 'skip', got "
                             f'{on_nonfinite!r}')
        super().__init__(*args, **kwargs)
        self.on_nonfinite = on_nonfinite
        self.skipped_steps = 0

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs=None,
                      zero_kwargs=None) -> None:
        if torch.isfinite(loss).all():
            return super().update_params(loss, step_kwargs, zero_kwargs)
        hub = MessageHub.get_current_instance()
        iteration = (hub.get_info('iter') or 0) + 1
        if self.on_nonfinite == 'raise':
            raise FloatingPointError(
                f'loss is {loss.detach().float().item()} at iteration '
                f'{iteration}; stopped before applying it, so the weights '
                'are those of the last finite step. Lower the learning rate, '
                'clip gradients (optim_wrapper.clip_grad) or set '
                "optim_wrapper.on_nonfinite='skip' to skip such steps.")
        self.skipped_steps += 1
        self._inner_count += 1  # keep gradient accumulation in step
        self.zero_grad(**(zero_kwargs or {}))
        print_log(
            f'non-finite loss at iteration {iteration}: step skipped '
            f'({self.skipped_steps} so far)',
            logger='current',
            level=logging.WARNING)


@OPTIM_WRAPPERS.register_module()
class CPUBF16OptimWrapper(OptimWrapper):
    """Mixed precision on the CPU: the forward and loss run under bf16
    autocast, the weights, gradients and update stay fp32.

    mmengine's ``AmpOptimWrapper`` needs a GPU (it asserts CUDA, and fp16
    needs its loss scaler); bf16 has fp32's exponent range, so no loss
    scaling is needed. ``tools/train.py --amp`` uses this wrapper when no
    GPU is present and ``AmpOptimWrapper`` (fp16) otherwise.
    """

    @contextlib.contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                device_type='cpu', dtype=torch.bfloat16):
            yield
