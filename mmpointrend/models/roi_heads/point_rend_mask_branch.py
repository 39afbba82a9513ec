# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""PointRend's mask branch (paper sections 3 and 4) as a component that an
MMDetection RoI head holds (:class:`PointRendHost`).

The branch builds and owns everything PointRend adds to a host: the mask
RoI extractor(s), the coarse head(s) (one per stage in a cascade), the
point head, the point loss, the training-point strategies and the train /
test settings. It registers the modules on the host under mmdet's names,
so state-dict keys stay ``roi_head.mask_head[.i].*`` and
``roi_head.point_head.*``. The host only says where a coarse prediction
comes from (a ``coarse_fn``: rois -> their :class:`PointFeatures` and the
coarse prediction).

Shape shorthand: ``B`` images, ``R`` boxes of the whole batch, ``K``
classes, ``P`` points per box, ``C`` fine-grained channels, ``M`` coarse
mask side.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import torch
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from mmengine.config import ConfigDict
from torch import Tensor, nn

from mmpointrend.registry import DET_MODELS
from ..mask_refinement import CoarseFn, MaskRefinement
from ..point_samplers import (AnnotatedPointSampler, MaskPointSampler,
                              PositiveBoxes, TrainingPointStrategy)
from ..uncertainty import build_uncertainty
from ..utils import all_regions
from .mask_branch_settings import (LOSS_POINT, box_head_num_classes, per_stage,
                                   stage_train_cfgs, test_cfg_with_defaults)


@dataclass
class MaskStage:
    """One stage of the mask branch (a cascade has one per box stage)."""

    extractor: nn.Module
    mask_head: nn.Module
    train_cfg: Optional[ConfigDict] = None
    point_strategy: Optional[TrainingPointStrategy] = None


def build_point_strategy(train_cfg: ConfigDict) -> TrainingPointStrategy:
    """The training-point strategy of ``train_cfg.point_sampling``: a name
    ('importance', 'grid', 'uniform': :class:`MaskPointSampler` with the
    config's ``num_points``, ``oversample_ratio``,
    ``importance_sample_ratio``, ``point_labels``; 'annotated':
    :class:`AnnotatedPointSampler`) or the config of any
    :class:`TrainingPointStrategy` registered in mmdet's ``TASK_UTILS``."""
    sampling = train_cfg.point_sampling
    if isinstance(sampling, dict):
        strategy = TASK_UTILS.build(sampling)
        if not isinstance(strategy, TrainingPointStrategy):
            raise TypeError(
                'train_cfg.rcnn.point_sampling must build a '
                f'TrainingPointStrategy, got {type(strategy).__name__}')
        return strategy
    if sampling == 'annotated':
        return AnnotatedPointSampler()
    return MaskPointSampler(
        mode=sampling,
        num_points=train_cfg.num_points,
        oversample_ratio=train_cfg.oversample_ratio,
        importance_sample_ratio=train_cfg.importance_sample_ratio,
        point_labels=train_cfg.point_labels)


class PointRendMaskBranch(MaskRefinement):
    """PointRend's mask branch: its modules, its settings and everything
    PointRend does with a coarse prediction: training points and losses
    here, subdivision, chunking and pasting in :class:`MaskRefinement`.

    Built in three moments of the host's ``__init__``
    (:class:`PointRendHost` calls them): :meth:`configure` before mmdet's
    ``__init__`` (the settings with defaults), :meth:`build_mask_modules`
    from mmdet's ``init_mask_head`` (so modules are built in mmdet's
    order) and :meth:`attach` after it (point head, loss, strategies and
    the build-time checks).

    Args:
        point_head (dict): Config of the point head (any
            :class:`BasePointHead`). Its ``num_classes`` and the coarse
            heads' default to the box head's.
        loss_point (dict): Loss on ``(R, P)`` point logits and ``[0, 1]``
            labels. Defaults to mean sigmoid cross-entropy.
        uncertainty (str): Registered name (mmengine ``FUNCTIONS``) of the
            point-selection measure on ``(R, 1, ...)`` class logits, in
            training and inference. Defaults to 'binary_uncertainty'.
        stage_train_cfg (dict, optional): Keys set in every stage's
            ``train_cfg.rcnn`` (they win over the stage's own), so that a
            cascade host's stage list stays as it is. Defaults to None.
    """

    def __init__(self,
                 point_head: dict,
                 loss_point: dict = LOSS_POINT,
                 uncertainty: str = 'binary_uncertainty',
                 stage_train_cfg: Optional[dict] = None) -> None:
        self.point_head_cfg = point_head
        self.loss_point_cfg = loss_point
        self.uncertainty = build_uncertainty(uncertainty)
        self.stage_train_cfg = stage_train_cfg
        self.point_head: Optional[nn.Module] = None
        self.loss_point: Optional[nn.Module] = None
        self.stages: List[MaskStage] = []
        self.num_stages: Optional[int] = None  # None: a single-stage host
        self.train_cfgs: Optional[list] = None
        self.test_cfg: Optional[ConfigDict] = None
        self.host_name = 'roi_head'

    # ------------------------------------------------------------------
    # building (the host's __init__)
    # ------------------------------------------------------------------
    def configure(self, host: str, kwargs: dict) -> dict:
        """Before mmdet's ``__init__``: the host's ``kwargs`` with the
        branch's settings (``train_cfg.rcnn`` per stage and
        ``test_cfg.rcnn`` with defaults, unknown keys reported), and the
        point head built, whose ``num_classes`` and mask-head arguments
        complete the mask head config(s)."""
        self.host_name = host
        self.num_stages = kwargs.get('num_stages')
        train_cfg = stage_train_cfgs(
            kwargs.get('train_cfg'), self.num_stages, self.stage_train_cfg,
            host)
        test_cfg = test_cfg_with_defaults(kwargs.get('test_cfg'))
        if kwargs.get('mask_head') is None or \
                kwargs.get('mask_roi_extractor') is None:
            raise ValueError(f'{host} needs mask_roi_extractor (a '
                             'PointRendGridExtractor) and mask_head')
        num_classes = box_head_num_classes(kwargs.get('bbox_head'))
        cfg = dict(self.point_head_cfg)
        if num_classes is not None:
            cfg.setdefault('num_classes', num_classes)
        self.point_head = DET_MODELS.build(cfg)

        def complete(mask_head):
            if num_classes is not None:
                mask_head = dict(
                    mask_head,
                    num_classes=mask_head.get('num_classes', num_classes))
            return dict(self.point_head.mask_head_args(), **mask_head)

        mask_head = kwargs['mask_head']
        if isinstance(mask_head, (list, tuple)):
            mask_head = [complete(cfg) for cfg in mask_head]
        else:
            mask_head = complete(mask_head)
        self.train_cfgs = None if train_cfg is None else (
            train_cfg if self.num_stages else [train_cfg])
        self.test_cfg = test_cfg
        return dict(
            kwargs,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            mask_head=mask_head)

    def build_mask_modules(self, host: nn.Module, mask_roi_extractor,
                           mask_head) -> None:
        """mmdet's ``init_mask_head``: build each stage's extractor and
        coarse head and register them on ``host`` as mmdet does
        (``mask_roi_extractor`` / ``mask_head``, a ``ModuleList`` in a
        cascade)."""
        extractors = [
            DET_MODELS.build(cfg)
            for cfg in per_stage(mask_roi_extractor, self.num_stages,
                                 f'{self.host_name}.mask_roi_extractor')
        ]
        heads = [
            DET_MODELS.build(cfg) for cfg in per_stage(
                mask_head, self.num_stages, f'{self.host_name}.mask_head')
        ]
        if self.num_stages is None:
            host.mask_head, host.mask_roi_extractor = heads[0], extractors[0]
        else:
            host.mask_head = nn.ModuleList(heads)
            host.mask_roi_extractor = nn.ModuleList(extractors)
        host.share_roi_extractor = False
        self.stages = [
            MaskStage(extractor, head)
            for extractor, head in zip(extractors, heads)
        ]

    def attach(self, host: nn.Module) -> None:
        """After mmdet's ``__init__``: register the point head and the
        point loss on ``host`` (``point_head`` / ``loss_point``), build each
        stage's training-point strategy and check that the sizes agree."""
        if not self.stages:
            raise ValueError(f'{self.host_name} needs mask_roi_extractor '
                             'and mask_head')
        host.point_head = self.point_head
        host.loss_point = self.loss_point = DET_MODELS.build(
            self.loss_point_cfg)
        box_heads = host.bbox_head if self.num_stages else [host.bbox_head]
        for i, stage in enumerate(self.stages):
            if self.train_cfgs is not None:
                stage.train_cfg = self.train_cfgs[i]
                stage.point_strategy = build_point_strategy(stage.train_cfg)
            self.check(stage, box_heads[i].num_classes,
                       '' if self.num_stages is None else f'[{i}]')

    def check(self, stage: MaskStage, num_classes: int, index: str) -> None:
        """Sizes that must agree between the box head, the stage's
        extractor and coarse head and the point head, checked once at build
        time. ``index`` names the stage in messages (``'[1]'``)."""
        where, extractor, mask_head = (self.host_name, stage.extractor,
                                       stage.mask_head)
        sizes = {
            f'{where}.bbox_head{index}.num_classes': num_classes,
            f'{where}.mask_head{index}.num_classes': mask_head.num_classes,
            f'{where}.point_head.num_classes': self.point_head.num_classes,
        }
        if len(set(sizes.values())) != 1:
            raise ValueError(f'num_classes must agree across heads: {sizes}')
        if not hasattr(extractor, 'point_features'):
            raise TypeError(
                f'{where}.mask_roi_extractor{index} must sample points (use '
                f'PointRendGridExtractor), got {type(extractor).__name__}')
        fine_channels = extractor.out_channels * len(extractor.featmap_indices)
        for name, head in (('mask_head' + index, mask_head),
                           ('point_head', self.point_head)):
            if head.in_channels != fine_channels:
                raise ValueError(
                    f'{where}.{name}.in_channels={head.in_channels} but the '
                    f'extractor gives {fine_channels} channels')
        if extractor.out_size != mask_head.roi_feat_size:
            raise ValueError(
                f'{where}.mask_roi_extractor{index}.out_size='
                f'{extractor.out_size} must equal {where}.mask_head{index}.'
                f'roi_feat_size={mask_head.roi_feat_size}')
        if stage.train_cfg is None:
            return
        mask_size = stage.train_cfg.get('mask_size')
        if mask_head.uses_mask_targets and mask_size != mask_head.mask_size:
            raise ValueError(
                f'train_cfg.rcnn{index}.mask_size={mask_size} must equal the '
                f'coarse mask size {mask_head.mask_size} '
                f'(mask_head.roi_feat_size / 2)')
        if stage.point_strategy.needs_coarse_mask and \
                not mask_head.seeds_importance_sampling:
            raise ValueError(
                f'{type(mask_head).__name__} gives no coarse mask to sample '
                'points by uncertainty from: set train_cfg.rcnn'
                f"{index}.point_sampling='uniform' (as detectron2's Implicit "
                "PointRend) or 'grid'")

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def regress_positive_boxes(self, stage: int, bbox_head: nn.Module,
                               sampling_results: List[SamplingResult],
                               bbox_results: dict) -> None:
        """With the stage's ``mask_on_refined_boxes``: replace each image's
        ``pos_priors`` by ``bbox_head``'s decoded predictions (detached), so
        the mask branch trains on the boxes as it sees them at inference.

        ``bbox_results['bbox_pred']`` rows follow ``bbox2roi([res.priors])``:
        per image its positives first, then its negatives.
        """
        if not self.stages[stage].train_cfg.mask_on_refined_boxes:
            return
        bbox_pred, start = bbox_results['bbox_pred'], 0
        for res in sampling_results:
            num_pos = len(res.pos_priors)
            deltas = bbox_pred[start:start + num_pos].detach()
            start += len(res.priors)
            if num_pos == 0:
                continue
            if not bbox_head.reg_class_agnostic:
                deltas = deltas.reshape(num_pos, -1, 4)[torch.arange(num_pos),
                                                        res.pos_gt_labels]
            res.pos_priors = bbox_head.bbox_coder.decode(
                res.pos_priors, deltas)

    def loss(self,
             coarse_fn: CoarseFn,
             sampling_results: List[SamplingResult],
             batch_gt_instances: InstanceList,
             stage: int = 0) -> dict:
        """Coarse-head loss and point loss of ``stage`` on the positive
        boxes.

        The stage's training-point strategy chooses the points and their
        labels; the coarse head is trained on the mask targets the ground
        truth gives (detectron2's ``crop_and_resize`` of its raster, soft
        with ``soft_mask_target``) when it uses them, or at the points when
        the ground truth has no masks (PointSup).

        Args:
            coarse_fn (Callable): see :data:`CoarseFn`, of this stage.
            sampling_results (list[SamplingResult]): Per image.
            batch_gt_instances (list[InstanceData]): Per image, with
                ``masks`` as :class:`BitmapMasks` or :class:`PolygonMasks`,
                or, for point supervision, ``point_coords`` (box-relative)
                and ``point_labels``.
            stage (int): The stage trained. Defaults to 0.

        Returns:
            dict: ``mask_preds`` (coarse output), ``mask_targets`` (or None)
            and ``loss_mask`` (a dict with the mask head's losses and
            ``loss_point``).
        """
        stage = self.stages[stage]
        pos_rois = bbox2roi([res.pos_priors for res in sampling_results])
        labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        features, coarse = coarse_fn(pos_rois)
        points = stage.point_strategy.sample(
            PositiveBoxes(pos_rois, labels, coarse, sampling_results,
                          batch_gt_instances), self.uncertainty)
        losses, mask_targets = self._coarse_loss(stage, coarse, labels, points)
        predict = self.point_head.predictor(features, coarse, labels)
        point_logits = predict(points.coords,
                               all_regions(len(pos_rois), pos_rois.device))[:,
                                                                            0]
        if pos_rois.shape[0] == 0:
            loss_point = point_logits.sum() * 0
        else:
            loss_point = self.loss_point(
                point_logits,
                points.labels,
                weight=points.weight,
                avg_factor=points.avg_factor)
        return dict(
            mask_preds=coarse,
            mask_targets=mask_targets,
            loss_mask=dict(losses, loss_point=loss_point))

    def _coarse_loss(self, stage: MaskStage, coarse: Tensor, labels: Tensor,
                     points) -> Tuple[dict, Optional[Tensor]]:
        """The stage's coarse-head losses and the mask targets used."""
        head, cfg = stage.mask_head, stage.train_cfg
        if not stage.point_strategy.gives_mask_targets:
            return head.point_supervised_loss(coarse, labels, points,
                                              self.loss_point), None
        mask_targets = None
        if head.uses_mask_targets:
            if points.ground_truth is None:  # no positive box
                mask_targets = coarse.new_zeros(
                    (0, cfg.mask_size, cfg.mask_size))
            else:
                mask_targets = points.ground_truth.mask_targets(
                    cfg.mask_size,
                    binary=not cfg.get('soft_mask_target', False))
        return head.loss(coarse, mask_targets, labels), mask_targets

    @property
    def final_head(self) -> nn.Module:
        """The coarse head whose prediction inference refines (the last
        stage's: a cascade's stages are merged by it)."""
        return self.stages[-1].mask_head
