# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Training points of full-mask supervision (paper section 3.2)."""
from typing import Callable, List, Optional

import torch
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.mask import BitmapMasks, PolygonMasks, mask_target
from mmdet.utils import InstanceList
from torch import Tensor

from ..utils import (bitmap_point_labels, box_points_to_image_points,
                     polygon_edges, polygon_point_labels, regular_grid_points,
                     sample_training_points)
from .base import TrainingPoints


@TASK_UTILS.register_module()
class MaskPointSampler:
    """Points chosen on the coarse prediction, labelled from the
    ground-truth masks (polygons or bitmaps, read at the points only).

    Args:
        mode (str): 'importance' (``num_points`` by importance sampling:
            ``oversample_ratio`` k, ``importance_sample_ratio`` beta, the
            RoI head's uncertainty on the ground-truth class's coarse
            logits), 'grid' (a regular ``sqrt(num_points)`` grid) or
            'uniform' (uniformly random, as detectron2's Implicit
            PointRend). Defaults to 'importance'.
        num_points (int): Points per box. Defaults to 196.
        oversample_ratio (float): k. Defaults to 3.
        importance_sample_ratio (float): beta. Defaults to 0.75.
    """

    def __init__(self,
                 mode: str = 'importance',
                 num_points: int = 14 * 14,
                 oversample_ratio: float = 3,
                 importance_sample_ratio: float = 0.75) -> None:
        if mode not in ('importance', 'grid', 'uniform'):
            raise ValueError("point_sampling must be 'importance', 'grid', "
                             f"'uniform' or 'annotated', got {mode!r}")
        self.mode = mode
        self.num_points = num_points
        self.oversample_ratio = oversample_ratio
        self.importance_sample_ratio = importance_sample_ratio

    def needs_coarse_mask(self) -> bool:
        """Importance sampling reads the coarse mask's uncertainty."""
        return self.mode == 'importance'

    def coarse_loss(self, mask_head, coarse: Tensor, labels: Tensor,
                    points: TrainingPoints,
                    sampling_results: List[SamplingResult],
                    batch_gt_instances: InstanceList, train_cfg,
                    loss_fn: Callable):
        """The mask head's own loss on mask targets (when it uses them).

        Returns:
            tuple: the loss dict and the ``(R, M, M)`` mask targets (or
            None).
        """
        mask_targets = None
        if mask_head.uses_mask_targets:
            mask_targets = mask_target(
                [res.pos_priors for res in sampling_results],
                [res.pos_assigned_gt_inds for res in sampling_results],
                [gt.masks for gt in batch_gt_instances], train_cfg)
        return mask_head.loss(coarse, mask_targets, labels), mask_targets

    def sample(self, coarse: Tensor, labels: Tensor, pos_rois: Tensor,
               sampling_results: List[SamplingResult],
               batch_gt_instances: InstanceList,
               uncertainty: Optional[Callable]) -> TrainingPoints:
        """Points of each positive box and the masks' values there.

        Args:
            coarse (Tensor): The mask head's output for the ``R`` boxes
                (``(R, K, M, M)`` logits for importance sampling).
            labels (Tensor): ``(R,)`` ground-truth classes.
            pos_rois (Tensor): ``(R, 5)`` the boxes.
            sampling_results (list[SamplingResult]): Per image.
            batch_gt_instances (list[InstanceData]): Per image, with
                ``masks``.
            uncertainty (Callable): ``(R, 1, h, w) -> (R, h, w)``.
        """
        num_rois = pos_rois.shape[0]
        device = pos_rois.device
        if self.mode == 'grid':
            side = int(round(self.num_points**0.5))
            points = regular_grid_points(num_rois, side, device=device)
        elif self.mode == 'uniform':
            points = torch.rand(num_rois, self.num_points, 2, device=device)
        else:
            gt_logits = coarse[torch.arange(num_rois), labels][:,
                                                               None].detach()
            points = sample_training_points(gt_logits, uncertainty,
                                            self.num_points,
                                            self.oversample_ratio,
                                            self.importance_sample_ratio)
        if num_rois == 0:
            return TrainingPoints(points, points.new_zeros(0, points.shape[1]))
        return TrainingPoints(
            points,
            self._point_targets(pos_rois, points, sampling_results,
                                batch_gt_instances))

    @staticmethod
    def _point_targets(pos_rois: Tensor, rel_points: Tensor,
                       sampling_results: List[SamplingResult],
                       batch_gt_instances: InstanceList) -> Tensor:
        """Ground-truth mask values at the points, ``(R, P)``.

        Read per image from its polygons or bitmaps at the points only (no
        full-image mask tensors). The loop is over images because the masks
        are per-image Python objects; the work inside is batched.
        """
        img_points = box_points_to_image_points(rel_points, pos_rois[:, 1:])
        counts = [len(res.pos_assigned_gt_inds) for res in sampling_results]
        labels = []
        for res, gt, pts in zip(sampling_results, batch_gt_instances,
                                img_points.split(counts)):
            if 'masks' not in gt:
                raise ValueError(
                    'the ground truth has no masks, which '
                    "point_sampling='importance' / 'grid' / 'uniform' "
                    'label the training points from; for point annotations '
                    "(PointSup) set train_cfg.rcnn.point_sampling='annotated'"
                    ', else load masks with '
                    "dict(type='LoadAnnotations', with_mask=True)")
            masks = gt.masks
            if isinstance(masks, BitmapMasks):
                labels.append(
                    bitmap_point_labels(masks.masks, res.pos_assigned_gt_inds,
                                        pts))
            elif isinstance(masks, PolygonMasks):
                edges, owner = polygon_edges(masks.masks, device=pts.device)
                labels.append(
                    polygon_point_labels(edges, owner,
                                         res.pos_assigned_gt_inds, pts))
            else:
                raise TypeError(
                    'gt_instances.masks must be BitmapMasks or PolygonMasks, '
                    f'got {type(masks).__name__}; load masks with '
                    "dict(type='LoadAnnotations', with_mask=True)")
        return torch.cat(labels)
