# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointSup  # noqa
"""Training points of point supervision (PointSup, Cheng et al. CVPR 2022)."""
from typing import Callable, List, Optional

import torch
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList
from torch import Tensor

from ..utils import box_points_to_image_points
from .base import TrainingPoints


@TASK_UTILS.register_module()
class AnnotatedPointSampler:
    """The annotated points of each positive box's ground-truth instance.

    The points (box-relative in ``gt_instances.point_coords``, labels in
    ``point_labels``, -1 for padding; see
    :class:`mmpointrend.datasets.PackPointSupInputs`) are mapped through the
    instance's box into the proposal's frame; points outside the proposal
    and padding get weight 0, as detectron2's PointSup. The coarse head is
    supervised at the same points (:meth:`coarse_loss`), with no mask.
    """

    def needs_coarse_mask(self) -> bool:
        return False

    def coarse_loss(self, mask_head, coarse: Tensor, labels: Tensor,
                    points: TrainingPoints,
                    sampling_results: List[SamplingResult],
                    batch_gt_instances: InstanceList, train_cfg,
                    loss_fn: Callable):
        """The mask head's loss at the annotated points; no mask targets."""
        return mask_head.point_supervised_loss(coarse, labels, points.points,
                                               points.labels, points.weight,
                                               points.avg_factor,
                                               loss_fn), None

    def sample(self, coarse: Tensor, labels: Tensor, pos_rois: Tensor,
               sampling_results: List[SamplingResult],
               batch_gt_instances: InstanceList,
               uncertainty: Optional[Callable]) -> TrainingPoints:
        """``(R, P, 2)`` proposal-relative points, their labels and
        weights (see the class doc)."""
        points, targets = [], []
        for res, gt in zip(sampling_results, batch_gt_instances):
            if 'point_coords' not in gt:
                raise ValueError(
                    "point_sampling='annotated' needs point annotations "
                    '(gt_instances.point_coords / point_labels): use '
                    'PointSupCocoDataset with LoadPointAnnotations and '
                    'PackPointSupInputs')
            idx = res.pos_assigned_gt_inds
            boxes = get_box_tensor(gt.bboxes[idx])
            img_points = box_points_to_image_points(
                gt.point_coords[idx].to(boxes.dtype), boxes)
            prior = res.pos_priors
            size = (prior[:, 2:] - prior[:, :2]).clamp(min=1e-6)[:, None]
            rel = (img_points - prior[:, None, :2]) / size
            inside = ((rel >= 0) & (rel <= 1)).all(-1)
            points.append(rel)
            point_labels = gt.point_labels[idx].long()
            targets.append(
                torch.where(inside, point_labels,
                            torch.full_like(point_labels, -1)))
        points, targets = torch.cat(points), torch.cat(targets)
        valid = (targets >= 0).float()
        return TrainingPoints(points,
                              targets.clamp(min=0).float(), valid,
                              valid.sum().clamp(min=1))
