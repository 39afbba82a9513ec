# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""PointRend on hosts that predict one mask per instance without RoIs
(RTMDet-Ins: stride-8 masks from dynamic convolutions): the host's own mask
logit of an instance is the coarse prediction, refined inside the
instance's box by subdivision, and trained with a point loss at
importance-sampled points.

The coarse prediction of a box is the host's logit map resampled on an
``M x M`` grid of the box (bilinear, the host's own upsampling rule), so
the point head, subdivision, chunking and pasting of
:class:`MaskRefinement` serve unchanged. Point features are a stride-4 map
(:class:`FineLevelNeck` passes the backbone's stride-4 stage) sampled at
the points, plus the coarse logit there.

Shape shorthand: ``n`` instances of one image, ``R`` of the batch, ``P``
points per instance, ``M`` the coarse grid side, ``h x w`` the host's mask
map, ``H x W`` the (padded) input.
"""
from contextlib import contextmanager
from typing import Callable, List, Optional, Tuple

import torch
from mmengine.config import ConfigDict
from torch import Tensor, nn

from mmpointrend.registry import DET_MODELS
from ..checks import check_keys
from ..mask_refinement import MaskRefinement
from ..roi_heads.mask_branch_settings import LOSS_POINT, TEST_DEFAULTS
from ..uncertainty import build_uncertainty
from ..utils import (PointFeatures, all_regions, box_points_to_image_points,
                     point_sample, regular_grid_points, sample_training_points)

DENSE_TRAIN_DEFAULTS = dict(
    num_points=14 * 14, oversample_ratio=3, importance_sample_ratio=0.75)
#: from the host's stride-8 resolution (a 28-cell grid covers 224 px) up to
#: the image's: up to 5 steps (896 px), each box stopping once its mask
#: reaches its size (``adaptive_resolution``)
DENSE_TEST_DEFAULTS = dict(
    TEST_DEFAULTS, subdivision_steps=5, adaptive_resolution=True)
DENSE_TEST_KEYS = set(DENSE_TEST_DEFAULTS)


class HostLogits:
    """What subdivision starts from on a dense host: the ``(R, 1, M, M)``
    host logits resampled in each box (the coarse prediction itself)."""

    def __init__(self, size: int) -> None:
        self.mask_size = size

    def initial_side(self, num_points: int) -> int:
        return self.mask_size

    def initial_logits(self, coarse: Tensor, labels: Tensor, predict,
                       num_points: int) -> Tensor:
        return coarse.float()


def box_grid_logits(logits: Tensor, boxes: Tensor, size: int,
                    input_hw: Tuple[int, int]) -> Tensor:
    """``(n, h, w)`` host mask logits covering the ``input_hw`` input,
    bilinearly sampled (``align_corners=False``, edges replicated: as the
    host upsamples them) at the cell centres of an ``size x size`` grid of
    each ``(n, 4)`` box: ``(n, 1, size, size)``."""
    num = boxes.shape[0]
    grid = regular_grid_points(num, size, device=logits.device)
    img_points = box_points_to_image_points(grid, boxes)
    norm = img_points / img_points.new_tensor([input_hw[1], input_hw[0]])
    return point_sample(
        logits[:, None], norm,
        padding_mode='border').reshape(num, 1, size, size)


class PointRendDenseRefiner(MaskRefinement):
    """PointRend's refinement of a dense host's instance masks: the point
    head (registered on the host as ``point_head``), its loss, the
    settings, and the sequence (training points, labels and loss;
    subdivision and pasting from :class:`MaskRefinement`).

    Args:
        point_head (dict): Config of a class-agnostic point head (any
            :class:`BasePointHead`; ``num_classes`` defaults to 1,
            ``in_channels`` to the fine map's).
        fine_channels (int): Channels of the stride-``fine_stride`` map.
        fine_stride (int): Its stride. Defaults to 4.
        coarse_size (int): ``M``, the grid a box's host logits are
            resampled on. Defaults to 28 (the stride-8 host's resolution in
            a 224 px box).
        loss_point (dict): Loss on ``(R, P)`` point logits and ``[0, 1]``
            labels. Defaults to mean sigmoid cross-entropy.
        uncertainty (str): Registered point-selection measure. Defaults to
            'binary_uncertainty'.
        train_cfg (dict, optional): ``num_points`` per instance,
            ``oversample_ratio``, ``importance_sample_ratio``
            (:data:`DENSE_TRAIN_DEFAULTS`).
        test_cfg (dict, optional): ``subdivision_steps``,
            ``subdivision_num_points``, ``scale_factor``,
            ``adaptive_resolution``, ``chunk_memory_mb``,
            ``mask_thr_binary``, ``drop_empty_boxes``
            (:data:`DENSE_TEST_DEFAULTS`).
    """

    def __init__(self,
                 point_head: dict,
                 fine_channels: int,
                 fine_stride: int = 4,
                 coarse_size: int = 28,
                 loss_point: dict = LOSS_POINT,
                 uncertainty: str = 'binary_uncertainty',
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None) -> None:
        check_keys(train_cfg, set(DENSE_TRAIN_DEFAULTS),
                   'point_rend.train_cfg')
        check_keys(test_cfg, DENSE_TEST_KEYS, 'point_rend.test_cfg')
        cfg = dict(point_head)
        cfg.setdefault('num_classes', 1)
        cfg.setdefault('in_channels', fine_channels)
        self.point_head = DET_MODELS.build(cfg)
        if self.point_head.num_classes != 1:
            raise ValueError('the point head of a dense host predicts one '
                             'class-agnostic mask per instance: set '
                             'point_rend.point_head.num_classes=1, got '
                             f'{self.point_head.num_classes}')
        self.point_head.class_agnostic = True
        if self.point_head.in_channels != fine_channels:
            raise ValueError(
                f'point_rend.point_head.in_channels='
                f'{self.point_head.in_channels} but the fine map has '
                f'{fine_channels} channels (point_rend.fine_channels)')
        self.loss_point = DET_MODELS.build(loss_point)
        self.uncertainty = build_uncertainty(uncertainty)
        self.fine_stride = fine_stride
        self.start = HostLogits(coarse_size)
        self.train_cfg = ConfigDict(DENSE_TRAIN_DEFAULTS, **(train_cfg or {}))
        self.test_cfg = ConfigDict(DENSE_TEST_DEFAULTS, **(test_cfg or {}))
        self._fine: Optional[Tensor] = None

    def point_classes(self, labels: Tensor) -> Tensor:
        """One class-agnostic mask per instance."""
        return torch.zeros_like(labels)

    @property
    def final_head(self) -> HostLogits:
        return self.start

    def attach(self, host: nn.Module) -> None:
        """Register the point head and the point loss on ``host``
        (state-dict keys ``<head>.point_head.*``)."""
        host.point_head = self.point_head
        host.loss_point = self.loss_point

    def hold(self, fine: Optional[Tensor]) -> None:
        """Take ``fine`` (``(B, C, H/s, W/s)``, the batch's fine map) for
        the host's calls inside mmdet's own loss / predict code; None
        drops it. Prefer :meth:`reading`."""
        if fine is not None and fine.shape[1] != self.point_head.in_channels:
            raise ValueError(
                f'the fine map has {fine.shape[1]} channels but '
                f'point_rend.fine_channels={self.point_head.in_channels}: '
                'set it to the channels of the map the host passes')
        self._fine = fine

    @contextmanager
    def reading(self, fine: Optional[Tensor]):
        """:meth:`hold` ``fine`` inside the block."""
        self.hold(fine)
        try:
            yield self
        finally:
            self._fine = None

    @property
    def fine(self) -> Tensor:
        if self._fine is None:
            raise RuntimeError('the fine map is read inside reading() only')
        return self._fine

    def coarse_fn(self, logits: Tensor, batch_index: int,
                  input_hw: Tuple[int, int]) -> Callable:
        """The :data:`CoarseFn` of image ``batch_index``: its ``(n, h, w)``
        host logits (covering the ``input_hw`` input) resampled in each
        roi, and the fine map's :class:`PointFeatures` of the rois."""

        def coarse(rois: Tensor):
            fine = self.fine[batch_index:batch_index + 1]
            boxes = rois[:, 1:]
            features = PointFeatures([fine], [self.fine_stride],
                                     torch.cat([rois[:, :1] * 0, boxes], 1))
            return features, box_grid_logits(logits, boxes,
                                             self.start.mask_size, input_hw)

        return coarse

    def loss(self, logits: List[Tensor], boxes: List[Tensor],
             gt_masks: List[Tensor], input_hw: Tuple[int, int]) -> Tensor:
        """The point loss of the batch's positive instances.

        Per image: the host's ``(n, h, w)`` logits of its positives, their
        ``(n, 4)`` boxes (the matched ground truth's, in input pixels) and
        ``(n, H', W')`` ground-truth masks (any tensor type, the input's
        pixels). Points: importance sampling on the host logits in the box
        (``train_cfg``); labels: the masks sampled bilinearly at the points
        (detectron2's ``point_sample`` of the bitmask); features: the fine
        map and the host logit at the points.
        """
        cfg = self.train_cfg
        coarse, points, labels, rois = [], [], [], []
        for i, (lg, bx, gt) in enumerate(zip(logits, boxes, gt_masks)):
            if bx.shape[0] == 0:
                continue
            grid = box_grid_logits(lg, bx, self.start.mask_size, input_hw)
            pts = sample_training_points(grid.detach(), self.uncertainty,
                                         cfg.num_points, cfg.oversample_ratio,
                                         cfg.importance_sample_ratio)
            img_pts = box_points_to_image_points(pts, bx)
            norm = img_pts / img_pts.new_tensor([gt.shape[-1], gt.shape[-2]])
            labels.append(
                point_sample(gt.to(pts.dtype)[:, None], norm)[:, 0].detach())
            coarse.append(grid)
            points.append(pts)
            rois.append(torch.cat([bx.new_full((len(bx), 1), i), bx], 1))
        if not rois:
            return self.fine.sum() * 0 + sum(lg.sum() * 0 for lg in logits)
        rois = torch.cat(rois)
        features = PointFeatures([self.fine], [self.fine_stride], rois)
        coarse = torch.cat(coarse)
        predict = self.point_head.predictor(
            features, coarse, coarse.new_zeros(len(rois), dtype=torch.long))
        point_logits = predict(
            torch.cat(points), all_regions(len(rois), rois.device))[:, 0]
        return self.loss_point(point_logits, torch.cat(labels))
