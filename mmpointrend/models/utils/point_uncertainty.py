# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""How uncertain a prediction is at each point or cell: the measures that
choose training points and subdivision cells (an argument everywhere, not a
branch).

Shape and coordinate shorthand: see :mod:`mmpointrend.models.utils`. Pure
tensors: no registries, no mm data structures.
"""
from typing import Callable

from torch import Tensor

#: ``uncertainty_fn(logits) -> scores``: ``(R, K, P) -> (R, P)`` or
#: ``(R, K, H, W) -> (R, H, W)``; higher score means more uncertain.
UncertaintyFn = Callable[[Tensor], Tensor]


def binary_uncertainty(logits: Tensor) -> Tensor:
    """Uncertainty of single-channel (binary) logits: ``-|logit|``.

    The most uncertain points are those where the foreground probability is
    closest to 0.5 (instance segmentation, paper section 4).

    Args:
        logits (Tensor): ``(R, 1, ...)`` logits of one class.

    Returns:
        Tensor: ``(R, ...)`` uncertainty, highest where the logit is 0.
    """
    if logits.shape[1] != 1:
        raise ValueError('binary_uncertainty expects logits of one class '
                         f'(R, 1, ...), got shape {tuple(logits.shape)}')
    return -logits[:, 0].abs()


def margin_uncertainty(logits: Tensor) -> Tensor:
    """Uncertainty of multi-class logits: ``top2 - top1`` (paper section 5).

    The paper ranks points by the margin between the two most confident
    classes; like detectron2's and MMSegmentation's implementations we take
    the margin of the logits (the ranking the published models were trained
    and evaluated with). Negated, so that higher means more uncertain.

    Args:
        logits (Tensor): ``(R, K, ...)`` class logits, ``K >= 2``.

    Returns:
        Tensor: ``(R, ...)`` uncertainty, ``<= 0``, 0 where the top two tie.
    """
    if logits.shape[1] < 2:
        raise ValueError('margin_uncertainty needs at least two classes, '
                         f'got shape {tuple(logits.shape)}')
    top2 = logits.topk(2, dim=1).values
    return top2[:, 1] - top2[:, 0]
