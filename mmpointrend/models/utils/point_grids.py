# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Regular grids of points and the mapping of region-relative points to image
points.

Shape and coordinate shorthand: see :mod:`mmpointrend.models.utils`. Pure
tensors: no registries, no mm data structures.
"""
from typing import Optional

import torch
from torch import Tensor


def regular_grid_points(num_regions: int,
                        height: int,
                        width: Optional[int] = None,
                        device: Optional[torch.device] = None) -> Tensor:
    """Relative coordinates of the cell centres of an ``H x W`` grid.

    Args:
        num_regions (int): ``R``, the grid is repeated for every region.
        height (int): ``H``, grid rows.
        width (int, optional): ``W``, grid columns. Defaults to ``height``.
        device (torch.device, optional): Device of the result.

    Returns:
        Tensor: ``(R, H * W, 2)`` points ``(x, y)`` in ``(0, 1)``, row-major,
        so that point ``i`` is the cell of flat index ``i`` of the grid.
    """
    width = height if width is None else width
    ys = (torch.arange(height, device=device, dtype=torch.float32) +
          0.5) / height
    xs = (torch.arange(width, device=device, dtype=torch.float32) +
          0.5) / width
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    points = torch.stack([grid_x, grid_y], dim=-1).reshape(1, -1, 2)
    return points.expand(num_regions, -1, -1)


def grid_indices_to_points(indices: Tensor, height: int, width: int) -> Tensor:
    """Relative centre coordinates of flat indices into an ``H x W`` grid.

    Args:
        indices (Tensor): ``(R, P)`` flat row-major indices.
        height (int): ``H``.
        width (int): ``W``.

    Returns:
        Tensor: ``(R, P, 2)`` relative points ``(x, y)``.
    """
    xs = ((indices % width).float() + 0.5) / width
    ys = (torch.div(indices, width, rounding_mode='floor').float() +
          0.5) / height
    return torch.stack([xs, ys], dim=-1)


def box_points_to_image_points(rel_points: Tensor, boxes: Tensor) -> Tensor:
    """Map box-relative points to image points.

    Args:
        rel_points (Tensor): ``(R, P, 2)`` points in ``[0, 1]`` of each box.
        boxes (Tensor): ``(R, 4)`` boxes ``(x1, y1, x2, y2)`` in image pixels.

    Returns:
        Tensor: ``(R, P, 2)`` points in image pixels.
    """
    origin = boxes[:, None, :2]
    size = (boxes[:, 2:] - boxes[:, :2])[:, None, :]
    return origin + rel_points * size
