# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Training points by importance sampling (paper section 3.2) and the top-N
uncertain cells of a grid.

Shape and coordinate shorthand: see :mod:`mmpointrend.models.utils`. Pure
tensors: no registries, no mm data structures.
"""

import torch
from torch import Tensor

from .point_grids import grid_indices_to_points
from .point_sampling import point_sample, size_min
from .point_uncertainty import UncertaintyFn


def sample_training_points(logits: Tensor, uncertainty_fn: UncertaintyFn,
                           num_points: int, oversample_ratio: float,
                           importance_sample_ratio: float) -> Tensor:
    """Choose training points, biased toward uncertain regions (paper 3.1).

    Over-generate ``k * N`` uniform random candidates, keep the ``beta * N``
    most uncertain of them, and fill the remaining ``(1 - beta) * N`` points
    with fresh uniform random points for coverage. ``k = 1, beta = 0`` is
    uniform sampling.

    Args:
        logits (Tensor): ``(R, K, H, W)`` coarse logits; the uncertainty of a
            candidate is computed on the logits interpolated at it.
        uncertainty_fn (Callable): ``(R, K, P) -> (R, P)`` uncertainty.
        num_points (int): ``N``, points per region.
        oversample_ratio (float): ``k >= 1``.
        importance_sample_ratio (float): ``beta`` in ``[0, 1]``.

    Returns:
        Tensor: ``(R, N, 2)`` relative points, the ``beta * N`` importance
        points first.
    """
    if oversample_ratio < 1:
        raise ValueError(
            f'oversample_ratio must be >= 1, got {oversample_ratio}')
    if not 0 <= importance_sample_ratio <= 1:
        raise ValueError('importance_sample_ratio must be in [0, 1], got '
                         f'{importance_sample_ratio}')
    num_regions = logits.shape[0]
    device = logits.device
    num_sampled = int(num_points * oversample_ratio)
    num_uncertain = int(importance_sample_ratio * num_points)
    num_random = num_points - num_uncertain
    point_sets = []
    if num_uncertain > 0:
        candidates = torch.rand(num_regions, num_sampled, 2, device=device)
        uncertainty = uncertainty_fn(point_sample(logits.float(), candidates))
        top = uncertainty.topk(num_uncertain, dim=1).indices
        point_sets.append(
            torch.gather(candidates, 1, top[..., None].expand(-1, -1, 2)))
    if num_random > 0:
        point_sets.append(
            torch.rand(num_regions, num_random, 2, device=device))
    return torch.cat(point_sets, dim=1)


def top_uncertain_grid_points(uncertainty_map: Tensor, num_points: int):
    """The ``N`` most uncertain cells of a grid.

    Args:
        uncertainty_map (Tensor): ``(R, H, W)`` uncertainty, higher is more
            uncertain.
        num_points (int): ``N``; clipped to ``H * W``.

    Returns:
        tuple[Tensor, Tensor]: flat indices ``(R, N')`` and their relative
        cell-centre points ``(R, N', 2)``, ``N' = min(N, H * W)``.
    """
    num_regions, height, width = uncertainty_map.shape
    num_points = size_min(height * width, num_points)  # traced: dynamic k
    indices = uncertainty_map.flatten(1).topk(num_points, dim=1).indices
    return indices, grid_indices_to_points(indices, height, width)
