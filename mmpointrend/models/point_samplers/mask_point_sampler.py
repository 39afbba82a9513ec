# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Training points of full-mask supervision (paper section 3.2), with the
authors' targets (see :mod:`mmpointrend.models.utils.mask_raster`)."""
from typing import Callable, List, Optional

import torch
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmdet.utils import InstanceList
from torch import Tensor

from ..utils import (MaskWindows, bilinear_point_labels, box_mask_targets,
                     box_points_to_image_points, nearest_point_labels,
                     rasterise_windows, read_windows, regular_grid_points,
                     sample_training_points)
from .base import PositiveBoxes, TrainingPoints, TrainingPointStrategy

POINT_LABELS = {
    'bilinear': bilinear_point_labels,
    'nearest': nearest_point_labels
}


class GroundTruthRaster:
    """The positive boxes' ground truth as detectron2 reads it: each
    image's instances rasterised inside the windows their boxes and points
    read (:func:`read_windows`, :func:`rasterise_windows`).

    Args:
        rasters (list[MaskWindows]): Per image.
        gt_inds (list[Tensor]): Per image, ``(R_i,)`` the instance of each
            positive box.
        boxes (list[Tensor]): Per image, ``(R_i, 4)`` the positive boxes.
    """

    def __init__(self, rasters: List[MaskWindows], gt_inds: List[Tensor],
                 boxes: List[Tensor]) -> None:
        self.rasters, self.gt_inds, self.boxes = rasters, gt_inds, boxes

    @classmethod
    def of(cls, sampling_results: List[SamplingResult],
           batch_gt_instances: InstanceList,
           img_points: Tensor) -> 'GroundTruthRaster':
        """Rasterise what the positive boxes of ``sampling_results`` and
        their ``(R, P, 2)`` image points read."""
        counts = [len(res.pos_assigned_gt_inds) for res in sampling_results]
        rasters, gt_inds, boxes = [], [], []
        for res, gt, pts in zip(sampling_results, batch_gt_instances,
                                img_points.split(counts)):
            masks = _masks_of(gt)
            image_hw = (masks.height, masks.width)
            inds = res.pos_assigned_gt_inds
            windows = read_windows(inds, len(masks), pts, res.pos_priors,
                                   image_hw)
            rasters.append(
                rasterise_windows(
                    masks.masks, windows, image_hw, device=pts.device))
            gt_inds.append(inds)
            boxes.append(res.pos_priors)
        return cls(rasters, gt_inds, boxes)

    def point_labels(self, img_points: Tensor, mode: str) -> Tensor:
        """``(R, P)`` labels at ``(R, P, 2)`` image points, ``mode`` a key
        of :data:`POINT_LABELS`."""
        fn = POINT_LABELS[mode]
        counts = [len(inds) for inds in self.gt_inds]
        return torch.cat([
            fn(raster, inds, pts) for raster, inds, pts in zip(
                self.rasters, self.gt_inds, img_points.split(counts))
        ])

    def mask_targets(self, size: int, binary: bool = True) -> Tensor:
        """``(R, M, M)`` coarse targets of the boxes
        (:func:`box_mask_targets`)."""
        return torch.cat([
            box_mask_targets(raster, inds, boxes, size,
                             binary) for raster, inds, boxes in zip(
                                 self.rasters, self.gt_inds, self.boxes)
        ])


def _masks_of(gt):
    """``gt.masks``, checked: bitmaps or polygons."""
    if 'masks' not in gt:
        raise ValueError(
            'the ground truth has no masks, which '
            "point_sampling='importance' / 'grid' / 'uniform' "
            'label the training points from; for point annotations '
            "(PointSup) set train_cfg.rcnn.point_sampling='annotated'"
            ', else load masks with '
            "dict(type='LoadAnnotations', with_mask=True)")
    if not isinstance(gt.masks, (BitmapMasks, PolygonMasks)):
        raise TypeError(
            'gt_instances.masks must be BitmapMasks or PolygonMasks, '
            f'got {type(gt.masks).__name__}; load masks with '
            "dict(type='LoadAnnotations', with_mask=True)")
    return gt.masks


@TASK_UTILS.register_module()
class MaskPointSampler(TrainingPointStrategy):
    """Points chosen on the coarse prediction, labelled from the
    ground-truth masks as detectron2 labels them.

    Both targets come from each instance's raster (pycocotools for
    polygons, as detectron2's ``polygons_to_bitmask`` after the data
    transforms; bitmaps as they are), read only inside the windows the
    boxes and points touch: point labels are bilinear samples of it
    (fractional within a pixel of the boundary), coarse targets its aligned
    RoIAlign inside the unclipped box, thresholded at 0.5.

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
        point_labels (str): 'bilinear' (detectron2's and mmdet's: the
            raster sampled bilinearly) or 'nearest' (the pixel that
            contains the point, ``{0, 1}``: this project's labels before
            0.2). Defaults to 'bilinear'.
    """

    gives_mask_targets = True

    def __init__(self,
                 mode: str = 'importance',
                 num_points: int = 14 * 14,
                 oversample_ratio: float = 3,
                 importance_sample_ratio: float = 0.75,
                 point_labels: str = 'bilinear') -> None:
        if mode not in ('importance', 'grid', 'uniform'):
            raise ValueError(
                "MaskPointSampler's mode must be 'importance', 'grid' or "
                f"'uniform', got {mode!r} (point annotations: "
                "train_cfg.rcnn.point_sampling='annotated')")
        if point_labels not in POINT_LABELS:
            raise ValueError('train_cfg.rcnn.point_labels must be one of '
                             f'{sorted(POINT_LABELS)}, got {point_labels!r}')
        self.mode = mode
        self.num_points = num_points
        self.oversample_ratio = oversample_ratio
        self.importance_sample_ratio = importance_sample_ratio
        self.point_labels = point_labels

    @property
    def needs_coarse_mask(self) -> bool:
        """Importance sampling reads the coarse mask's uncertainty."""
        return self.mode == 'importance'

    def choose_points(self, coarse: Tensor, labels: Tensor,
                      uncertainty: Optional[Callable]) -> Tensor:
        """``(R, P, 2)`` box-relative training points of the ``R`` boxes.

        Args:
            coarse (Tensor): The mask head's output for the boxes (``(R, K,
                M, M)`` logits for importance sampling).
            labels (Tensor): ``(R,)`` ground-truth classes.
            uncertainty (Callable): ``(R, 1, h, w) -> (R, h, w)``.
        """
        num_rois = coarse.shape[0]
        device = coarse.device
        if self.mode == 'grid':
            side = int(round(self.num_points**0.5))
            return regular_grid_points(num_rois, side, device=device)
        if self.mode == 'uniform':
            return torch.rand(num_rois, self.num_points, 2, device=device)
        rows = torch.arange(num_rois, device=device)
        gt_logits = coarse[rows, labels][:, None].detach()
        return sample_training_points(gt_logits, uncertainty, self.num_points,
                                      self.oversample_ratio,
                                      self.importance_sample_ratio)

    def sample(self, boxes: PositiveBoxes,
               uncertainty: Optional[Callable]) -> TrainingPoints:
        """Points of each positive box (:meth:`choose_points`) and the
        ground truth's values there; its :class:`GroundTruthRaster` also
        gives the coarse targets (``mask_targets``: detectron2's
        ``crop_and_resize`` of the raster)."""
        points = self.choose_points(boxes.coarse, boxes.labels, uncertainty)
        if boxes.rois.shape[0] == 0:
            return TrainingPoints(points, points.new_zeros(0, points.shape[1]))
        img_points = box_points_to_image_points(points, boxes.rois[:, 1:])
        ground_truth = GroundTruthRaster.of(boxes.sampling_results,
                                            boxes.gt_instances, img_points)
        return TrainingPoints(
            points,
            ground_truth.point_labels(img_points, self.point_labels),
            ground_truth=ground_truth)
