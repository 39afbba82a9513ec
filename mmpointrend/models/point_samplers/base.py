"""What a training-point strategy gives the RoI head.

Shape shorthand: ``R`` positive boxes, ``P`` points per box.

A strategy answers "which points, with which labels and weights, and how is
the coarse head supervised": :class:`MaskPointSampler` (importance, grid or
uniform points labelled from the ground-truth masks; the coarse head on
mask targets) or :class:`AnnotatedPointSampler` (PointSup: the annotated
points; the coarse head at those points). The RoI head picks one from
``train_cfg.rcnn.point_sampling`` and never looks at the ground truth
itself.
"""
from typing import Any, NamedTuple, Optional

from torch import Tensor


class TrainingPoints(NamedTuple):
    """``points (R, P, 2)`` box-relative, ``labels (R, P)`` in ``[0, 1]``,
    ``weight (R, P)`` and ``avg_factor`` (None: every point counts, mean
    over all); ``ground_truth`` what the strategy read the labels from, for
    its ``coarse_loss`` (:class:`GroundTruthRaster`, or None)."""

    points: Tensor
    labels: Tensor
    weight: Optional[Tensor] = None
    avg_factor: Optional[Tensor] = None
    ground_truth: Any = None
