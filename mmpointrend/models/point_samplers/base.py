"""The training-point strategy contract.

Shape shorthand: ``R`` positive boxes, ``P`` points per box.

A strategy has one job: given one step's positive boxes
(:class:`PositiveBoxes`), say which points of each box train the point head
and what the ground truth says there (:class:`TrainingPoints`).
:class:`MaskPointSampler` chooses importance, grid or uniform points and
labels them from the ground-truth masks; :class:`AnnotatedPointSampler`
(PointSup) takes the annotated points. How the coarse head is supervised
is the mask branch's decision, from what the ground truth offers
(:attr:`TrainingPoints.ground_truth`) and what the mask head asks.
"""
from abc import ABCMeta, abstractmethod
from typing import Callable, List, NamedTuple, Optional

from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.utils import InstanceList
from torch import Tensor


class PositiveBoxes(NamedTuple):
    """One training step's positive boxes, all a strategy may read.

    ``rois`` ``(R, 5)`` (batch index, box), ``labels`` ``(R,)`` their
    ground-truth classes, ``coarse`` the mask head's output for them
    (``(R, K, M, M)`` logits, or parameters), ``sampling_results`` per
    image (which instance each box is), ``gt_instances`` per image (with
    ``masks``, or PointSup's ``point_coords`` / ``point_labels``).
    """

    rois: Tensor
    labels: Tensor
    coarse: Tensor
    sampling_results: List[SamplingResult]
    gt_instances: InstanceList


class TrainingPoints(NamedTuple):
    """``coords (R, P, 2)`` box-relative, ``labels (R, P)`` in ``[0, 1]``,
    ``weight (R, P)`` and ``avg_factor`` (None: every point counts, mean
    over all); ``ground_truth`` what the strategy read the labels from, if
    it can also give the boxes' coarse mask targets (an object with
    ``mask_targets(size, binary) -> (R, size, size)``, e.g.
    :class:`GroundTruthRaster`; None for point annotations)."""

    coords: Tensor
    labels: Tensor
    weight: Optional[Tensor] = None
    avg_factor: Optional[Tensor] = None
    ground_truth: object = None


class TrainingPointStrategy(metaclass=ABCMeta):
    """What the mask branch asks a training-point strategy. Register a new
    one in mmdet's ``TASK_UTILS`` and name its config in
    ``train_cfg.rcnn.point_sampling``.

    Attributes:
        needs_coarse_mask (bool): The points are chosen on the coarse mask
            (importance sampling), so the mask head must predict one.
        gives_mask_targets (bool): The ground truth it reads has masks, so
            its :class:`TrainingPoints` can give the coarse mask targets;
            otherwise the coarse head is scored at the points.
    """

    needs_coarse_mask: bool = False
    gives_mask_targets: bool = False

    @abstractmethod
    def sample(self, boxes: PositiveBoxes,
               uncertainty: Optional[Callable]) -> TrainingPoints:
        """The training points of ``boxes`` and their labels;
        ``uncertainty`` (``(R, 1, h, w) -> (R, h, w)``) is the branch's
        point-selection measure."""
