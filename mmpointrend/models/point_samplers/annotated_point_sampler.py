# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointSup  # noqa
"""Training points of point supervision (PointSup, Cheng et al. CVPR 2022)."""
from typing import Callable, Optional

import torch
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor

from ..utils import box_points_to_image_points
from .base import PositiveBoxes, TrainingPoints, TrainingPointStrategy


@TASK_UTILS.register_module()
class AnnotatedPointSampler(TrainingPointStrategy):
    """The annotated points of each positive box's ground-truth instance.

    The points (box-relative in ``gt_instances.point_coords``, labels in
    ``point_labels``, -1 for padding; see
    :class:`mmpointrend.datasets.PackPointSupInputs`) are mapped through the
    instance's box into the proposal's frame; points outside the proposal
    and padding get weight 0, as detectron2's PointSup. There are no masks,
    so the mask branch scores the coarse head at the same points.
    """

    def sample(self, boxes: PositiveBoxes,
               uncertainty: Optional[Callable]) -> TrainingPoints:
        """``(R, P, 2)`` proposal-relative points, their labels and
        weights (see the class doc)."""
        points, targets = [], []
        for res, gt in zip(boxes.sampling_results, boxes.gt_instances):
            if 'point_coords' not in gt:
                raise ValueError(
                    "point_sampling='annotated' needs point annotations "
                    '(gt_instances.point_coords / point_labels): use '
                    'PointSupCocoDataset with LoadPointAnnotations and '
                    'PackPointSupInputs')
            idx = res.pos_assigned_gt_inds
            gt_boxes = get_box_tensor(gt.bboxes[idx])
            img_points = box_points_to_image_points(
                gt.point_coords[idx].to(gt_boxes.dtype), gt_boxes)
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
