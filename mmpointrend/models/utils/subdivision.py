# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Subdivision inference (paper section 3.1): one step (upsample, select the
most uncertain cells, predict them, scatter), the plan of steps, and the
loop, each taking a "predict these points" callable.

Shape and coordinate shorthand: see :mod:`mmpointrend.models.utils`. Pure
tensors: no registries, no mm data structures.
"""
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .importance_sampling import top_uncertain_grid_points
from .point_sampling import size_min
from .point_uncertainty import UncertaintyFn

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


class SubdivisionStep(NamedTuple):
    """One step of a :func:`plan_subdivision` plan: ``size`` ``(h, w)`` of
    its (upsampled) grid, ``cells`` ``h * w``, ``covered`` when the step
    after it selects every cell of this one's grid anyway, and ``predict``
    whether it predicts points (else it only upsamples)."""

    size: Tuple
    cells: Any
    covered: bool
    predict: bool


def plan_subdivision(
        height,
        width,
        num_steps: Optional[int],
        num_points: int,
        scale_factor: int = 2,
        target: Optional[Sequence] = None) -> List[SubdivisionStep]:
    """The plan of every subdivision, instance and semantic: what each
    step of refining an ``height x width`` prediction does.

    Each step multiplies the side by ``scale_factor``. ``target`` is the
    semantic head's input size ``(H, W)``: with ``num_steps=None`` the steps
    go until it, each capped at it; sizes may be traced tensors (ONNX
    export: the step count is the traced size's, the sizes follow the
    input).

    Without a target, a step is ``covered`` when the step after it selects
    every cell of its grid anyway (``num_points >= scale_factor^2 *
    cells``), and then it only upsamples unless it is the last: its
    predictions would all be overwritten (the same shortcut as detectron2
    and MMDetection). With a target every step predicts (mmseg's rule; a
    traced size would fix the shortcut to the traced input). A step
    predicts ``min(cells, num_points)`` points per region. Inference
    (:func:`subdivide`), the heads' feature preparation and the ONNX graphs
    all read this one plan.
    """
    cap = None
    if num_steps is None:
        if target is None:
            raise ValueError('subdivision_steps=None (until the input size) '
                             'needs a target size')
        num_steps, h, w = 0, int(height), int(width)
        while h < int(target[0]) or w < int(target[1]):
            h = min(h * scale_factor, int(target[0]))
            w = min(w * scale_factor, int(target[1]))
            num_steps += 1
        cap = target
    plan = []
    for step in range(num_steps):
        height, width = height * scale_factor, width * scale_factor
        if cap is not None:
            height, width = size_min(height, cap[0]), size_min(width, cap[1])
        if target is not None:
            plan.append(
                SubdivisionStep((height, width), height * width, False, True))
            continue
        cells = height * width
        covered = num_points >= scale_factor**2 * cells
        plan.append(
            SubdivisionStep((height, width), cells, covered,
                            not (covered and step < num_steps - 1)))
    return plan


def subdivide(logits: Tensor,
              point_predictor: PointPredictor,
              uncertainty_fn: UncertaintyFn,
              num_steps: int,
              num_points: int,
              scale_factor: int = 2,
              region_steps: Optional[Tensor] = None,
              on_step: Optional[StepCallback] = None,
              target: Optional[Sequence] = None) -> Tensor:
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
        target (Sequence, optional): ``(H', W')`` the sizes are capped at
            (semantic: the input size; ``num_steps`` None: until it).
            Defaults to None.

    Returns:
        Tensor: ``(R, K, H * s^T, W * s^T)`` logits (capped at
        ``target``).
    """
    plan = plan_subdivision(logits.shape[-2], logits.shape[-1], num_steps,
                            num_points, scale_factor, target)
    for step, (size, _, covered, predict) in enumerate(plan):
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
            output_size=None if target is None else size,
            predict=predict,
            regions=regions,
            on_step=on_step)
    return logits
