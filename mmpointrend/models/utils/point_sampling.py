# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Bilinear sampling of maps at points: ``point_sample`` (a thin
``grid_sample`` wrapper), the fused gathers that sample many regions of many
images at once, and their ONNX forms (a gather and a sum instead of
``embedding_bag``, one dense slab for a projected table; sizes may be traced
tensors there).

Shape and coordinate shorthand: see :mod:`mmpointrend.models.utils`. Pure
tensors: no registries, no mm data structures.
"""
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def _weighted_row_sum(table: Tensor, indices: Tensor,
                      weights: Tensor) -> Tensor:
    """``sum_k weights[n, k] * table[indices[n, k]]``: ``(N, 4) -> (N, C)``.

    One fused ``embedding_bag``; while exporting to ONNX, which has no
    weighted ``embedding_bag``, a gather and a sum.
    """
    if torch.onnx.is_in_onnx_export():
        return (table[indices] * weights[..., None]).sum(1)
    return F.embedding_bag(
        indices, table, per_sample_weights=weights, mode='sum')


def point_sample(inputs: Tensor,
                 points: Tensor,
                 align_corners: bool = False,
                 padding_mode: str = 'zeros') -> Tensor:
    """Bilinearly sample ``inputs`` at relative ``points``.

    A thin wrapper of :func:`torch.nn.functional.grid_sample` taking ``[0, 1]``
    coordinates instead of ``[-1, 1]`` and points as a list instead of a grid.
    Out-of-map samples read zero (``padding_mode='zeros'``, detectron2's);
    ``'border'`` reads the edge, as ``F.interpolate`` upsamples.

    Args:
        inputs (Tensor): ``(R, C, H, W)`` maps, one per region.
        points (Tensor): ``(R, P, 2)`` relative points ``(x, y)``.
        align_corners (bool): As in ``grid_sample``. Defaults to False.
        padding_mode (str): As in ``grid_sample``. Defaults to 'zeros'.

    Returns:
        Tensor: ``(R, C, P)`` sampled values.
    """
    grid = (2.0 * points - 1.0).unsqueeze(2).to(inputs.dtype)
    out = F.grid_sample(
        inputs,
        grid,
        mode='bilinear',
        padding_mode=padding_mode,
        align_corners=align_corners)
    return out.squeeze(3)


def size_min(a, b):
    """``min`` of two sizes, ints or (while exporting to ONNX) traced sizes,
    so that the exported graph computes it from its input."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return torch.minimum(torch.as_tensor(a), torch.as_tensor(b))
    return min(a, b)


def scale_points(points: Tensor, width, height) -> Tensor:
    """``(..., 2)`` relative points ``(x, y)`` times ``(width, height)``;
    the sizes may be ints or (while exporting to ONNX) traced sizes."""
    return torch.stack([points[..., 0] * width, points[..., 1] * height], -1)


def bilinear_gather(table: Tensor, base: Tensor, height: int, width: int,
                    cell_points: Tensor) -> Tensor:
    """Bilinear interpolation from maps stored as rows of a table.

    ``table`` holds one or more ``H x W`` maps channels-last: the cell
    ``(i, j)`` of the map starting at row ``b`` is row ``b + i * W + j``.
    Each point reads the 4 rows around it through one fused
    ``embedding_bag`` (gather + weighted sum), which on the CPU is an order
    of magnitude faster than ``grid_sample`` on channels-first maps. Same
    semantics as ``grid_sample(align_corners=False, padding_mode='zeros')``:
    cell ``(i, j)`` has its centre at ``(j + 0.5, i + 0.5)`` and neighbours
    outside the map read zero. Differentiable w.r.t. ``table``.

    Args:
        table (Tensor): ``(T, C)`` rows of all maps.
        base (Tensor): ``(R,)`` first row of each region's map.
        height (int): ``H`` of every map.
        width (int): ``W`` of every map.
        cell_points (Tensor): ``(R, P, 2)`` points ``(x, y)`` in cell units
            of the region's map (``x`` in ``[0, W]``).

    Returns:
        Tensor: ``(R, P, C)``.
    """
    num_regions, num_points = cell_points.shape[:2]
    if num_regions == 0 or num_points == 0:
        return table.new_zeros((num_regions, num_points, table.shape[1]))
    cells, weights = _bilinear_taps(height, width, cell_points.to(table.dtype))
    out = _weighted_row_sum(table,
                            (base.long()[:, None, None] + cells).reshape(
                                -1, 4), weights.reshape(-1, 4))
    return out.reshape(num_regions, num_points, table.shape[1])


def _bilinear_taps(height, width, cell_points: Tensor):
    """The 4 cells around each point and their weights (zero for cells
    outside the map): ``(R, P, 4)`` flat indices ``i * W + j`` within the
    map and ``(R, P, 4)`` weights."""
    xy = cell_points - 0.5
    lo = torch.floor(xy)
    frac = xy - lo
    lo = lo.long()
    x0, y0 = lo[..., 0], lo[..., 1]
    fx, fy = frac[..., 0], frac[..., 1]
    cells, weights = [], []
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                      (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
        cells.append(yi.clamp(0, height - 1) * width + xi.clamp(0, width - 1))
        weights.append(w * inside)
    return torch.stack(cells, -1), torch.stack(weights, -1)


def bilinear_dense(maps: Tensor, height: int, width: int,
                   cell_points: Tensor) -> Tensor:
    """:func:`bilinear_gather` for small maps, one per region, as a batched
    matrix product: the points' bilinear weights scattered into a dense
    ``(R, P, H * W)`` matrix times the ``(R, H * W, C)`` maps. For the ONNX
    graphs (onnxruntime has no fused gather + weighted sum; on 7x7 coarse
    maps this is ~4x faster there than gathering ``(R * P, 4, C)`` rows).

    Returns:
        Tensor: ``(R, P, C)``.
    """
    cells, weights = _bilinear_taps(height, width, cell_points.to(maps.dtype))
    dense = torch.zeros_like(weights[..., :1]).expand(
        -1, -1, maps.shape[1]).scatter_add(2, cells, weights)
    return torch.bmm(dense, maps)


def channels_last_table(feats: Tensor,
                        transform: Optional[Callable[[Tensor], Tensor]] = None,
                        rows_per_slab: int = 8192) -> Tensor:
    """``(B, C, H, W)`` maps -> ``(B * H * W, C')`` table for
    :func:`bilinear_gather` (map ``b`` starts at row ``b * H * W``).

    Args:
        feats (Tensor): ``(B, C, H, W)``.
        transform (Callable, optional): Row-wise ``(N, C) -> (N, C')`` map
            (e.g. a layer's weights) applied slab by slab, so that neither a
            channels-last copy of ``feats`` nor any other full-size
            intermediate is held. Defaults to None (``C' = C``).
        rows_per_slab (int): Table rows transformed at a time. Defaults to
            8192.

    Returns:
        Tensor: ``(B * H * W, C')``.
    """
    num_imgs, channels, height, width = feats.shape
    lines = feats.permute(0, 2, 3, 1).reshape(num_imgs * height, width,
                                              channels)  # a view
    if transform is None:  # one contiguous copy, gathered from many times
        return lines.reshape(-1, channels).contiguous()
    if torch.onnx.is_in_onnx_export():  # slabs would fix the map size
        return transform(lines.reshape(-1, channels))
    step = max(1, rows_per_slab // width)
    out = None
    for start in range(0, num_imgs * height, step):
        part = transform(lines[start:start + step].reshape(-1, channels))
        if out is None:
            out = part.new_empty((num_imgs * height * width, part.shape[1]))
        out[start * width:start * width + len(part)] = part
    return out


def sample_image_features(feats: Tensor,
                          batch_inds: Tensor,
                          img_points: Tensor,
                          stride: float,
                          table: Optional[Tensor] = None,
                          channels_last: bool = False) -> Tensor:
    """Sample a batched feature map at image points of many regions at once.

    All regions of all images are sampled in one :func:`bilinear_gather`
    call, with no Python loop over images.

    Args:
        feats (Tensor): ``(B, C, H, W)`` feature map of stride ``stride``.
        batch_inds (Tensor): ``(R,)`` image index of each region.
        img_points (Tensor): ``(R, P, 2)`` points in input-image pixels.
        stride (float): Feature stride in input pixels: feature cell ``(i, j)``
            covers pixels ``[j * s, (j + 1) * s) x [i * s, (i + 1) * s)``.
        table (Tensor, optional): ``channels_last_table(feats)`` when the
            caller samples the same map many times. Defaults to None.
        channels_last (bool): Return ``(R, P, C)`` instead of ``(R, C, P)``.
            Defaults to False.

    Returns:
        Tensor: ``(R, C, P)`` (or ``(R, P, C)``) features at the points.
    """
    _, _, height, width = feats.shape
    if table is None:
        table = channels_last_table(feats)
    out = bilinear_gather(table,
                          batch_inds.long() * (height * width), height, width,
                          img_points / stride)
    return out if channels_last else out.transpose(1, 2)
