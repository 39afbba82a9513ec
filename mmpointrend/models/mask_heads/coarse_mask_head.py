"""PointRend's coarse heads (paper section 4) and the contract the mask
branch reads from any coarse head.

Shape shorthand: ``R`` boxes, ``C`` input channels, ``K`` classes, ``S`` the
input grid side (14), ``M = S / 2`` the output mask side (7), ``N``
parameters per box (Implicit PointRend).
"""
from abc import ABCMeta, abstractmethod
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..class_layout import ClassAxis
from ..point_samplers import TrainingPoints
from ..utils import point_sample, regular_grid_points


class BaseCoarseHead(BaseModule, metaclass=ABCMeta):
    """What the PointRend mask branch reads of a coarse head: the branch
    never looks at which head it holds.

    Attributes (every head sets them):
        num_classes (int): ``K``.
        in_channels (int): ``C`` of the grid it reads.
        roi_feat_size (int): ``S``, the side of that grid.
        mask_size (int, optional): ``M``, the side of the coarse mask it
            predicts and is trained on (``train_cfg.rcnn.mask_size``); None
            if it predicts no mask (then it needs no mask targets and its
            output cannot choose training points by uncertainty).
    """

    num_classes: int
    in_channels: int
    roi_feat_size: int
    mask_size: Optional[int]

    @property
    def uses_mask_targets(self) -> bool:
        """The branch cuts ``(R, M, M)`` mask targets for :meth:`loss`."""
        return self.mask_size is not None

    @property
    def seeds_importance_sampling(self) -> bool:
        """The output is a coarse mask whose uncertainty can choose the
        training points (``point_sampling='importance'``)."""
        return self.mask_size is not None

    @abstractmethod
    def loss(self, coarse: Tensor, targets: Optional[Tensor],
             labels: Tensor) -> dict:
        """Losses of the ``R`` boxes' output ``coarse`` against ``(R, M,
        M)`` mask ``targets`` (None when :attr:`uses_mask_targets` is
        False) for the ground-truth ``labels``; zero (with a graph) when
        ``R == 0``."""

    @abstractmethod
    def point_supervised_loss(self, coarse: Tensor, labels: Tensor,
                              points: TrainingPoints, loss_fn) -> dict:
        """Losses when the ground truth is annotated points only
        (PointSup): ``loss_fn(logits, labels, weight=, avg_factor=)`` is
        the branch's point loss."""

    @abstractmethod
    def initial_logits(self, coarse: Tensor, labels: Tensor, predict,
                       num_points: int) -> Tensor:
        """What subdivision starts from: ``(R, 1, h, w)`` fp32 logits of
        the classes ``labels``; ``predict`` is the point head's predictor
        of these boxes, ``num_points`` the points per subdivision step."""

    @abstractmethod
    def initial_side(self, num_points: int) -> int:
        """``h`` (= ``w``) of :meth:`initial_logits`."""

    @abstractmethod
    def merge_stages(self, stage_outputs: List[Tensor]) -> Tensor:
        """A cascade's outputs for the same boxes, one per stage, as
        one."""


class ConvFCCoarseHead(BaseCoarseHead):
    """The layers both coarse heads share (detectron2's ``ConvFCHead``): a
    stride-2 ``2 x 2`` convolution with ReLU (``S -> S / 2``), ``num_fcs``
    fully connected layers with ReLU and a linear ``predictor`` of
    ``num_outputs`` values; each head says how many and what they mean.

    Args:
        num_classes (int): ``K``.
        num_outputs (int): Outputs of the predictor.
        in_channels (int): ``C``. Defaults to 256.
        roi_feat_size (int): ``S``, must be even. Defaults to 14.
        conv_out_channels (int): Channels of the stride-2 conv. Defaults to
            256.
        num_fcs (int): Hidden fully connected layers. Defaults to 2.
        fc_out_channels (int): Width of the hidden layers. Defaults to 1024.
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (detectron2's: see :meth:`init_weights`).
    """

    def __init__(self,
                 num_classes: int,
                 num_outputs: int,
                 in_channels: int = 256,
                 roi_feat_size: int = 14,
                 conv_out_channels: int = 256,
                 num_fcs: int = 2,
                 fc_out_channels: int = 1024,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if roi_feat_size % 2:
            raise ValueError(
                f'roi_feat_size must be even, got {roi_feat_size}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.roi_feat_size = roi_feat_size
        self.reduce = nn.Conv2d(in_channels, conv_out_channels, 2, stride=2)
        dims = [conv_out_channels *
                (roi_feat_size // 2)**2] + [fc_out_channels] * num_fcs
        self.fcs = nn.ModuleList(
            nn.Linear(d_in, d_out) for d_in, d_out in zip(dims, dims[1:]))
        self.predictor = nn.Linear(dims[-1], num_outputs)

    def init_weights(self) -> None:
        """As detectron2's coarse head: MSRA fill for the conv (Caffe2's
        ``c2_msra_fill``), Caffe2's Xavier fill for the hidden FC layers
        (``c2_xavier_fill``: Kaiming uniform with ``a=1``), N(0, 0.001) for
        the predictor; zero biases."""
        super().init_weights()
        if self.init_cfg is not None:
            return
        nn.init.kaiming_normal_(
            self.reduce.weight, mode='fan_out', nonlinearity='relu')
        for layer in self.fcs:
            nn.init.kaiming_uniform_(layer.weight, a=1)
        for layer in [self.reduce, *self.fcs]:
            nn.init.zeros_(layer.bias)
        nn.init.normal_(self.predictor.weight, std=0.001)
        nn.init.zeros_(self.predictor.bias)

    def _outputs(self, x: Tensor) -> Tensor:
        """``(R, C, S, S)`` -> the predictor's ``(R, outputs)``."""
        if x.shape[1:] != (self.in_channels, self.roi_feat_size,
                           self.roi_feat_size):
            raise ValueError(
                f'{type(self).__name__} expects features of shape (R, '
                f'{self.in_channels}, {self.roi_feat_size}, '
                f'{self.roi_feat_size}), got {tuple(x.shape)}')
        x = F.relu(self.reduce(x)).flatten(1)
        for fc in self.fcs:
            x = F.relu(fc(x))
        return self.predictor(x)


@DET_MODELS.register_module()
class PointRendCoarseMaskHead(ConvFCCoarseHead):
    """``S x S`` box features -> ``K x M x M`` coarse mask logits.

    A stride-2 ``2 x 2`` convolution with ReLU (``S -> M``), then fully
    connected layers with ReLU, then a linear layer to ``K * M * M`` logits,
    like Mask R-CNN's box head. The loss is the average binary cross-entropy
    of the ground-truth class channel, the same as the 4x conv head.

    Args:
        num_classes (int): ``K``.
        in_channels, roi_feat_size, conv_out_channels, num_fcs,
        fc_out_channels, init_cfg: :class:`ConvFCCoarseHead`'s.
        loss_mask (dict): Loss config, called as ``loss(logits, targets)`` on
            ``(R, M, M)`` logits of the ground-truth class. Defaults to
            sigmoid cross-entropy.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 256,
                 roi_feat_size: int = 14,
                 conv_out_channels: int = 256,
                 num_fcs: int = 2,
                 fc_out_channels: int = 1024,
                 loss_mask: dict = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     loss_weight=1.0),
                 init_cfg: Optional[dict] = None) -> None:
        mask_size = roi_feat_size // 2
        super().__init__(num_classes, num_classes * mask_size**2, in_channels,
                         roi_feat_size, conv_out_channels, num_fcs,
                         fc_out_channels, init_cfg)
        self.mask_size = mask_size
        self.loss_mask = DET_MODELS.build(loss_mask)

    def class_axes(self) -> dict:
        """The predictor's rows: one ``M x M`` block per class."""
        axis = ClassAxis.blocks(0, group=self.mask_size**2)
        return {'predictor.weight': [axis], 'predictor.bias': [axis]}

    def forward(self, x: Tensor) -> Tensor:
        """Coarse logits.

        Args:
            x (Tensor): ``(R, C, S, S)`` box features.

        Returns:
            Tensor: ``(R, K, M, M)`` logits.
        """
        return self._outputs(x).reshape(-1, self.num_classes, self.mask_size,
                                        self.mask_size)

    def loss(self, logits: Tensor, targets: Tensor, labels: Tensor) -> dict:
        """Average BCE of the ground-truth class channel.

        Args:
            logits (Tensor): ``(R, K, M, M)``.
            targets (Tensor): ``(R, M, M)`` in ``[0, 1]``.
            labels (Tensor): ``(R,)`` ground-truth classes.

        Returns:
            dict: ``loss_mask``, a scalar; zero (with a graph) when ``R ==
            0``.
        """
        if logits.shape[0] == 0:
            return dict(loss_mask=logits.sum() * 0)
        class_logits = logits[torch.arange(len(labels)), labels]
        return dict(
            loss_mask=self.loss_mask(class_logits,
                                     targets.to(class_logits.dtype)))

    def point_supervised_loss(self, logits: Tensor, labels: Tensor,
                              points: TrainingPoints, loss_fn) -> dict:
        """PointSup: the ground-truth class channel of the ``(R, K, M, M)``
        logits interpolated at the annotated points, scored by the branch's
        point loss ``loss_fn(logits, labels, weight=, avg_factor=)``."""
        rows = torch.arange(len(labels), device=labels.device)
        at_points = point_sample(logits[rows, labels][:, None],
                                 points.coords)[:, 0]
        return dict(
            loss_mask=loss_fn(
                at_points,
                points.labels,
                weight=points.weight,
                avg_factor=points.avg_factor))

    def initial_logits(self, logits: Tensor, labels: Tensor, predict,
                       num_points: int) -> Tensor:
        """What subdivision starts from: ``(R, 1, M, M)`` logits of the
        class ``labels`` (``(R,)``), in fp32 (point selection and
        uncertainty stay fp32 under mixed precision). ``predict`` and
        ``num_points`` are unused (a head without a coarse mask needs
        them)."""
        rows = torch.arange(labels.shape[0], device=labels.device)
        return logits[rows, labels].float()[:, None]

    def initial_side(self, num_points: int) -> int:
        """Subdivision starts from the ``M x M`` coarse mask."""
        return self.mask_size

    def merge_stages(self, stage_logits: List[Tensor]) -> Tensor:
        """A cascade's coarse predictions of the same boxes, one per stage,
        as one: the mean of their probabilities, as mmdet's cascade merges
        its stages' masks (``merge_aug_masks``), back as logits (clamped to
        ``[1e-6, 1 - 1e-6]``) for the point head and subdivision. One stage
        is returned as it is."""
        if len(stage_logits) == 1:
            return stage_logits[0]
        probs = torch.stack([p.float().sigmoid() for p in stage_logits])
        return torch.logit(probs.mean(0), eps=1e-6).to(stage_logits[0].dtype)


@DET_MODELS.register_module()
class PointRendParameterHead(ConvFCCoarseHead):
    """Implicit PointRend's parameter head: the coarse head's layers
    (:class:`ConvFCCoarseHead`) whose predictor gives each box the ``N``
    parameters of its point MLP (:class:`PointRendImplicitPointHead`)
    instead of a coarse mask.

    Trained only through the point loss, plus an L2 penalty on the
    parameters (``regularizer * mean(params^2)``, detectron2's
    ``PARAMS_L2_REGULARIZER``); it needs no mask targets, and its output is
    no mask that could choose training points by uncertainty.

    Args:
        num_params (int): ``N``; the RoI head fills it from its point head.
        num_classes (int): ``K`` (for the heads' consistency check).
        param_class_parts (tuple, optional): How the ``N`` parameters depend
            on the classes (:class:`ClassAxis` parts; the RoI head fills it
            from its point head, for loading weights of other classes).
            Defaults to None (no class-dependent parameters).
        regularizer (float): Weight of the L2 penalty. Defaults to 1e-5.
        **kwargs: :class:`ConvFCCoarseHead`'s layer arguments
            (``in_channels``, ``roi_feat_size``, ``conv_out_channels``,
            ``num_fcs``, ``fc_out_channels``, ``init_cfg``).
    """

    #: no coarse mask
    mask_size = None

    def __init__(self,
                 num_params: int,
                 num_classes: int,
                 param_class_parts: Optional[tuple] = None,
                 regularizer: float = 1e-5,
                 **kwargs) -> None:
        super().__init__(num_classes, num_params, **kwargs)
        self.num_params = num_params
        self.param_class_parts = param_class_parts
        self.regularizer = regularizer

    def class_axes(self) -> dict:
        """The predictor's rows, laid out as ``param_class_parts``."""
        if self.param_class_parts is None:
            return {}
        axis = ClassAxis(0, tuple(map(tuple, self.param_class_parts)))
        return {'predictor.weight': [axis], 'predictor.bias': [axis]}

    def forward(self, x: Tensor) -> Tensor:
        """``(R, C, S, S)`` box features -> ``(R, N)`` parameters."""
        return self._outputs(x)

    def loss(self, params: Tensor, targets: Optional[Tensor],
             labels: Tensor) -> dict:
        """The L2 penalty on the ``(R, N)`` parameters."""
        if params.shape[0] == 0:
            return dict(loss_params_l2=params.sum() * 0)
        return dict(loss_params_l2=self.regularizer * params.pow(2).mean())

    def point_supervised_loss(self, params: Tensor, labels: Tensor,
                              points: TrainingPoints, loss_fn) -> dict:
        """PointSup: no coarse mask to score at the points; the L2 penalty
        (:meth:`loss`) only."""
        return self.loss(params, None, labels)

    def initial_logits(self, params: Tensor, labels: Tensor, predict,
                       num_points: int) -> Tensor:
        """What subdivision starts from without a coarse mask: the point
        head (``predict``) on a regular grid of ``num_points`` cells (28x28),
        as detectron2; ``(R, 1, side, side)`` fp32 logits."""
        side = self.initial_side(num_points)
        if side * side != num_points:
            raise ValueError('a point head without coarse masks starts from '
                             'a square grid: subdivision_num_points must be '
                             f'a square, got {num_points}')
        num = labels.shape[0]  # traced (dynamic) while exporting
        grid = regular_grid_points(num, side, device=params.device)
        logits = predict(grid, torch.arange(num, device=params.device))
        return logits.float().reshape(num, 1, side, side)

    def initial_side(self, num_points: int) -> int:
        """Subdivision starts from a square grid of ``num_points`` cells
        the point head predicts."""
        return int(round(num_points**0.5))

    def merge_stages(self, stage_params: List[Tensor]) -> Tensor:
        """A cascade's per-stage parameters of the same boxes: the last
        stage's. Each stage's parameters define a nonlinear point MLP, so
        their mean is no mean of masks; the last stage is the one trained
        on the best boxes."""
        return stage_params[-1]
