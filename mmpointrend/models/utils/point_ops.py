# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Pure-tensor point utilities shared by the instance and semantic heads.

Shape shorthand used throughout this module:

- ``R``: number of regions (boxes for instance segmentation, images for
  semantic segmentation). Every per-region tensor has ``R`` first.
- ``B``: number of images in the batch (feature maps have ``B`` first).
- ``C``: channels of a feature map; ``K``: number of classes.
- ``P``: number of points per region.
- ``H, W``: height and width of a map.

Coordinates:

- *relative* points are ``(x, y)`` in ``[0, 1] x [0, 1]`` of a region (a box
  or a whole image), where ``0`` and ``1`` are the region's outer edges (pixel
  *edges*, not centres, i.e. ``align_corners=False`` semantics).
- *image* points are ``(x, y)`` in continuous input-image pixels: pixel
  ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``, its centre is at
  ``(j + 0.5, i + 0.5)``.

Nothing here knows about registries or mm data structures; the heads glue
these functions to MMDetection / MMSegmentation.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

#: ``uncertainty_fn(logits) -> scores``: ``(R, K, P) -> (R, P)`` or
#: ``(R, K, H, W) -> (R, H, W)``; higher score means more uncertain.
UncertaintyFn = Callable[[Tensor], Tensor]
#: ``point_predictor(points, regions) -> logits``: given relative ``points``
#: ``(R', P, 2)`` of the regions ``regions`` (``(R',)`` row indices into the
#: full set of ``R`` regions), predict ``(R', K, P)`` logits at those points.
PointPredictor = Callable[[Tensor, Tensor], Tensor]
#: ``on_step(record)``: called once per subdivision step with a dict of
#: detached copies: ``input`` (the logits the step started from),
#: ``upsampled`` (before the point predictions), ``indices`` / ``points``
#: (the cells refined, None for an upsample-only step), ``regions`` and
#: ``output``. For pictures and debugging; the caller adds what else it
#: needs (e.g. which boxes a chunk holds) by wrapping it.
StepCallback = Callable[[dict], None]


def _report(on_step: Optional[StepCallback], **step) -> None:
    """Hand one step to ``on_step`` as detached copies (the logits are
    refined in place afterwards)."""
    if on_step is not None:
        on_step({
            k: v.detach().clone() if isinstance(v, Tensor) else v
            for k, v in step.items()
        })


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


def _scatter_cells(logits: Tensor, sub: Tensor, regions: Tensor, index: Tensor,
                   values: Tensor) -> Tensor:
    """Write ``values`` ``(R', K, P)`` into the cells ``index`` of the rows
    ``regions`` of ``logits`` ``(R, K, H, W)`` (``sub`` is ``logits`` or
    its rows ``logits[regions]``): in place (``logits`` is the step's own
    fresh tensor), or out of place while exporting to ONNX, which loses
    in-place writes through views."""
    subset = sub is not logits
    num_regions, channels, height, width = sub.shape
    if torch.onnx.is_in_onnx_export():
        sub = sub.reshape(num_regions, channels,
                          height * width).scatter(2, index,
                                                  values).reshape(sub.shape)
        return logits.index_copy(0, regions, sub) if subset else sub
    sub.view(num_regions, channels, height * width).scatter_(2, index, values)
    if subset:
        logits[regions] = sub
    return logits


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


def point_sample(inputs: Tensor,
                 points: Tensor,
                 align_corners: bool = False) -> Tensor:
    """Bilinearly sample ``inputs`` at relative ``points``.

    A thin wrapper of :func:`torch.nn.functional.grid_sample` taking ``[0, 1]``
    coordinates instead of ``[-1, 1]`` and points as a list instead of a grid.
    Out-of-map samples read zero (``padding_mode='zeros'``).

    Args:
        inputs (Tensor): ``(R, C, H, W)`` maps, one per region.
        points (Tensor): ``(R, P, 2)`` relative points ``(x, y)``.
        align_corners (bool): As in ``grid_sample``. Defaults to False.

    Returns:
        Tensor: ``(R, C, P)`` sampled values.
    """
    grid = (2.0 * points - 1.0).unsqueeze(2).to(inputs.dtype)
    out = F.grid_sample(
        inputs, grid, mode='bilinear', align_corners=align_corners)
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


def subdivision_step(logits: Tensor,
                     point_predictor: PointPredictor,
                     uncertainty_fn: UncertaintyFn,
                     num_points: int,
                     scale_factor: int = 2,
                     output_size: Optional[Sequence[int]] = None,
                     predict: bool = True,
                     regions: Optional[Tensor] = None,
                     on_step: Optional[StepCallback] = None) -> Tensor:
    """One adaptive subdivision step (paper Fig. 4).

    Upsample the logits bilinearly, pick the ``N`` most uncertain cells of the
    finer grid, predict them with ``point_predictor`` and write them back.

    Args:
        logits (Tensor): ``(R, K, H, W)`` current prediction.
        point_predictor (Callable): see :data:`PointPredictor`; must return
            ``(R', K, P)`` logits.
        uncertainty_fn (Callable): ``(R, K, H, W) -> (R, H, W)``.
        num_points (int): ``N``, points refined per region.
        scale_factor (int): Upsampling factor. Defaults to 2.
        output_size (Sequence[int], optional): ``(H', W')`` to upsample to
            instead of ``scale_factor`` (the last semantic step lands exactly
            on the input resolution). Defaults to None.
        predict (bool): If False, only upsample. Defaults to True.
        regions (Tensor, optional): ``(R',)`` rows to refine; the others are
            only upsampled. Defaults to None (all).
        on_step (Callable, optional): see :data:`StepCallback`.

    Returns:
        Tensor: ``(R, K, H', W')`` refined logits.
    """
    step_input = logits
    if output_size is not None:
        logits = F.interpolate(
            logits,
            size=tuple(output_size),
            mode='bilinear',
            align_corners=False)
    else:
        logits = F.interpolate(
            logits,
            scale_factor=scale_factor,
            mode='bilinear',
            align_corners=False)
    if regions is None:
        regions = torch.arange(logits.shape[0], device=logits.device)
    if not predict or len(regions) == 0:
        _report(
            on_step,
            input=step_input,
            upsampled=logits,
            indices=None,
            points=None,
            regions=regions,
            output=logits)
        return logits
    sub = logits[regions] if len(regions) < len(logits) else logits
    indices, points = top_uncertain_grid_points(
        uncertainty_fn(sub), num_points)
    point_logits = point_predictor(points, regions).to(logits.dtype)
    upsampled = logits.detach().clone() if on_step is not None else None
    index = indices[:, None, :].expand(-1, sub.shape[1], -1)
    logits = _scatter_cells(logits, sub, regions, index, point_logits)
    _report(
        on_step,
        input=step_input,
        upsampled=upsampled,
        indices=indices,
        points=points,
        regions=regions,
        output=logits)
    return logits


def plan_subdivision(height,
                     width,
                     num_steps: int,
                     num_points: int,
                     scale_factor: int = 2) -> List[Tuple[int, bool, bool]]:
    """What each of ``num_steps`` subdivision steps of an ``height x width``
    prediction does: ``(cells, covered, predict)`` per step.

    ``cells`` is the number of cells of the step's (upsampled) grid; a step
    is ``covered`` when the step after it selects every cell of its own grid
    anyway (``num_points >= scale_factor^2 * cells``), and then it only
    upsamples unless it is the last (``predict`` False): its predictions
    would all be overwritten (the same shortcut as detectron2 and
    MMDetection). A step predicts ``min(cells, num_points)`` points per
    region. Inference (:func:`subdivide`), the heads' feature preparation
    and the ONNX graphs all read this one plan.
    """
    plan = []
    for step in range(num_steps):
        height, width = height * scale_factor, width * scale_factor
        cells = height * width
        covered = num_points >= scale_factor**2 * cells
        plan.append((cells, covered, not (covered and step < num_steps - 1)))
    return plan


def subdivide(logits: Tensor,
              point_predictor: PointPredictor,
              uncertainty_fn: UncertaintyFn,
              num_steps: int,
              num_points: int,
              scale_factor: int = 2,
              region_steps: Optional[Tensor] = None,
              on_step: Optional[StepCallback] = None) -> Tensor:
    """Adaptive subdivision inference: ``num_steps`` subdivision steps, as
    :func:`plan_subdivision` plans them (a step whose cells the next step
    selects anyway is only upsampled, unless it is the last).

    Args:
        logits (Tensor): ``(R, K, H, W)`` coarse logits.
        point_predictor (Callable): see :data:`PointPredictor`.
        uncertainty_fn (Callable): ``(R, K, H, W) -> (R, H, W)``.
        num_steps (int): Subdivision steps.
        num_points (int): ``N``, points per step.
        scale_factor (int): Upsampling factor per step. Defaults to 2.
        region_steps (Tensor, optional): ``(R,)`` steps each region is
            refined for (resolution-adaptive inference); later steps only
            upsample it. Defaults to None (``num_steps`` for all).
        on_step (Callable, optional): see :data:`StepCallback`.

    Returns:
        Tensor: ``(R, K, H * s^T, W * s^T)`` logits.
    """
    plan = plan_subdivision(logits.shape[-2], logits.shape[-1], num_steps,
                            num_points, scale_factor)
    for step, (_, covered, predict) in enumerate(plan):
        regions = None
        if region_steps is not None:
            keep = region_steps > step
            if covered:  # only regions whose last step this is need it
                keep &= region_steps == step + 1
            regions = torch.nonzero(keep)[:, 0]
            predict = True
        logits = subdivision_step(
            logits,
            point_predictor,
            uncertainty_fn,
            num_points,
            scale_factor,
            predict=predict,
            regions=regions,
            on_step=on_step)
    return logits
