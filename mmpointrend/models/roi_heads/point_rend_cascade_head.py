"""PointRend on MMDetection's cascades: Cascade Mask R-CNN and HTC, each
holding a :class:`PointRendMaskBranch`.

Every stage has its own coarse head, trained on that stage's positive
proposals with the stage's loss weight (as mmdet trains the stages' FCN mask
heads); the point head is shared and trained at every stage on that stage's
coarse prediction. At test time all stages' coarse heads run on the final
boxes, their predictions are merged as mmdet's cascade merges its masks (the
mean of the probabilities, :meth:`PointRendCoarseMaskHead.merge_stages`), and
the merged prediction is refined once.
"""
from functools import partial
from typing import List, Optional, Tuple

import torch.nn.functional as F
from mmdet.models.roi_heads import CascadeRoIHead, HybridTaskCascadeRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..checks import check_keys
from ..utils import PointFeatures, StepCallback
from .point_rend_mask_branch import (LOSS_POINT, TRAIN_KEYS,
                                     PointRendMaskBranch, build_point_head,
                                     build_train_points, drop_degenerate_gt,
                                     test_cfg_with_defaults,
                                     train_cfg_with_defaults)


def _stage_num_classes(bbox_head) -> Optional[int]:
    """The box heads' ``num_classes`` (one config or one per stage); the
    stages must agree."""
    heads = bbox_head if isinstance(bbox_head, (list, tuple)) else [bbox_head]
    counts = {h.get('num_classes') for h in heads if h is not None}
    counts.discard(None)
    if len(counts) > 1:
        raise ValueError('num_classes must agree across the cascade\'s box '
                         f'heads, got {sorted(counts)}')
    return counts.pop() if counts else None


@DET_MODELS.register_module()
class PointRendCascadeRoIHead(CascadeRoIHead):
    """Cascade Mask R-CNN RoI head with a PointRend mask branch.

    Box branch: mmdet's :class:`CascadeRoIHead`, unchanged. Mask branch: per
    stage ``mask_roi_extractor`` (a :class:`PointRendGridExtractor`) and
    ``mask_head`` (a :class:`PointRendCoarseMaskHead`; one config is used
    for every stage, as mmdet does), one shared ``point_head``.

    Training (``train_cfg.rcnn``, the host's list of stage configs, each
    with ``stage_train_cfg`` laid over it: ``mask_size`` the coarse mask
    size and any PointRend key of :class:`PointRendInstanceRoIHead`): stage
    ``i``'s coarse head and the point head on stage ``i``'s positives;
    mmdet weighs the stage's ``loss_mask`` and ``loss_point`` by
    ``stage_loss_weights[i]``. ``mask_on_refined_boxes`` moves a stage's
    positives to that stage's regressed boxes.

    Inference (``test_cfg.rcnn``, as :class:`PointRendInstanceRoIHead`'s):
    the stages' coarse predictions of the final boxes merged by the last
    mask head's :meth:`merge_stages`, then subdivision once.

    Args:
        num_stages (int): Cascade stages.
        stage_loss_weights (list[float]): Loss weight per stage.
        point_head (dict): Config of the shared point head.
        loss_point (dict): Loss on ``(R, P)`` point logits. Defaults to
            mean sigmoid cross-entropy.
        uncertainty (str): Registered point-selection measure. Defaults to
            'binary_uncertainty'.
        stage_train_cfg (dict, optional): Keys set in every stage's
            ``train_cfg.rcnn`` (they win over the stage's own), so that a
            cascade host's stage list stays as it is; the block's sets
            ``mask_size=7``. Defaults to None.
        **kwargs: :class:`CascadeRoIHead` arguments.
    """

    def __init__(self,
                 num_stages: int,
                 stage_loss_weights: List[float],
                 point_head: ConfigType,
                 loss_point: ConfigType = LOSS_POINT,
                 uncertainty: str = 'binary_uncertainty',
                 stage_train_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        name = type(self).__name__
        train_cfg = kwargs.get('train_cfg')
        if train_cfg is not None:
            if not isinstance(train_cfg, (list, tuple)) or \
                    len(train_cfg) != num_stages:
                raise ValueError(
                    f'{name} needs train_cfg.rcnn as a list of {num_stages} '
                    'stage configs (the cascade host\'s), got '
                    f'{type(train_cfg).__name__}')
            check_keys(stage_train_cfg, TRAIN_KEYS, 'roi_head.stage_train_cfg')
            kwargs['train_cfg'] = [
                train_cfg_with_defaults(
                    dict(cfg, **(stage_train_cfg or {})),
                    f'train_cfg.rcnn[{i}]') for i, cfg in enumerate(train_cfg)
            ]
        kwargs['test_cfg'] = test_cfg_with_defaults(kwargs.get('test_cfg'))
        point_head, kwargs['mask_head'] = build_point_head(
            point_head, kwargs.get('mask_head'),
            _stage_num_classes(kwargs.get('bbox_head')))
        super().__init__(
            num_stages=num_stages,
            stage_loss_weights=stage_loss_weights,
            **kwargs)
        if not self.with_mask:
            raise ValueError(f'{name} needs mask_roi_extractor and mask_head')
        self.point_rend = PointRendMaskBranch.attach(self, point_head,
                                                     loss_point, uncertainty)
        self.train_points = None
        if self.train_cfg is not None:
            self.train_points = [
                build_train_points(cfg) for cfg in self.train_cfg
            ]
        for stage in range(num_stages):
            self.point_rend.check(
                self.mask_roi_extractor[stage],
                self.mask_head[stage],
                self.bbox_head[stage].num_classes,
                None if self.train_cfg is None else self.train_cfg[stage],
                None if self.train_cfg is None else self.train_points[stage],
                stage=f'[{stage}]')

    # ------------------------------------------------------------------
    # one stage's coarse prediction
    # ------------------------------------------------------------------
    def grid_features(self,
                      stage: int,
                      x: Tuple[Tensor],
                      rois: Tensor,
                      features: Optional[PointFeatures],
                      semantic_feat: Optional[Tensor] = None) -> Tensor:
        """Stage ``stage``'s coarse-head input ``(R, C, S, S)``: its
        extractor's grid (HTC adds its semantic features)."""
        return self.mask_roi_extractor[stage](x, rois, features)

    def stage_coarse_predictions(
        self,
        stage: int,
        x: Tuple[Tensor],
        rois: Tensor,
        semantic_feat: Optional[Tensor] = None
    ) -> Tuple[PointFeatures, Tensor]:
        """``(R, 5)`` rois -> their :class:`PointFeatures` and stage
        ``stage``'s coarse prediction."""
        features = self.mask_roi_extractor[stage].point_features(x, rois)
        grid = self.grid_features(stage, x, rois, features, semantic_feat)
        return features, self.mask_head[stage](grid)

    def coarse_predictions(
        self,
        x: Tuple[Tensor],
        rois: Tensor,
        semantic_feat: Optional[Tensor] = None
    ) -> Tuple[PointFeatures, Tensor]:
        """Every stage's coarse prediction of ``(R, 5)`` rois, merged by the
        last mask head; the :class:`PointFeatures` of the last stage's
        extractor. Stages whose extractors read the same grid (mmdet
        builds one per stage from one config; they have no parameters)
        share it."""
        last = self.mask_roi_extractor[-1]
        features = last.point_features(x, rois)
        grids, outputs = {}, []
        for stage in range(self.num_stages):
            extractor = self.mask_roi_extractor[stage]
            key = (extractor.featmap_indices, extractor.featmap_strides,
                   extractor.out_size)
            if key not in grids:
                same_levels = key[:2] == (last.featmap_indices,
                                          last.featmap_strides)
                grids[key] = self.grid_features(
                    stage, x, rois, features if same_levels else None,
                    semantic_feat)
            outputs.append(self.mask_head[stage](grids[key]))
        return features, self.mask_head[-1].merge_stages(outputs)

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: list) -> dict:
        """mmdet's cascade loss, after dropping ground-truth instances with
        an empty or non-finite box (:func:`drop_degenerate_gt`)."""
        drop_degenerate_gt(batch_data_samples)
        return super().loss(x, rpn_results_list, batch_data_samples)

    def bbox_loss(self, stage: int, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult], **kwargs) -> dict:
        """mmdet's box loss of stage ``stage``; with that stage's
        ``mask_on_refined_boxes`` its positives move to their regressed
        boxes (detached) for the mask branch."""
        bbox_results = super().bbox_loss(stage, x, sampling_results, **kwargs)
        if self.train_cfg[stage].mask_on_refined_boxes:
            self.point_rend.refine_positive_boxes(self.bbox_head[stage],
                                                  sampling_results,
                                                  bbox_results['bbox_pred'])
        return bbox_results

    def mask_loss(self,
                  stage: int,
                  x: Tuple[Tensor],
                  sampling_results: List[SamplingResult],
                  batch_gt_instances: InstanceList,
                  semantic_feat: Optional[Tensor] = None) -> dict:
        """:meth:`PointRendMaskBranch.loss` of stage ``stage``."""
        return self.point_rend.loss(
            partial(
                self.stage_coarse_predictions,
                stage,
                semantic_feat=semantic_feat), self.mask_head[stage], x,
            sampling_results, batch_gt_instances, self.train_cfg[stage],
            self.train_points[stage])

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def refine_masks(self,
                     x: Tuple[Tensor],
                     rois: Tensor,
                     labels: Tensor,
                     on_step: Optional[StepCallback] = None,
                     semantic_feat: Optional[Tensor] = None) -> Tensor:
        """``(R, 1, S, S)`` subdivision logits of the predicted ``labels``
        of ``(R, 5)`` rois, from the stages' merged coarse prediction."""
        features, coarse = self.coarse_predictions(x, rois, semantic_feat)
        return self.point_rend.refine(features, coarse, rois, labels,
                                      self.mask_head[-1],
                                      self.num_refined_points(len(rois)),
                                      on_step)

    def num_refined_points(self, num_rois: int) -> int:
        """Points the subdivision will predict for ``num_rois`` boxes."""
        return self.point_rend.num_refined_points(self.mask_head[-1], num_rois)

    def predict_mask(self,
                     x: Tuple[Tensor],
                     batch_img_metas: List[dict],
                     results_list: InstanceList,
                     rescale: bool = False) -> InstanceList:
        """Refine and paste the masks of the final boxes
        (:meth:`PointRendMaskBranch.predict`)."""
        return self.point_rend.predict(
            results_list, batch_img_metas, rescale,
            lambda rois, labels: self.refine_masks(x, rois, labels))


@DET_MODELS.register_module()
class PointRendHTCRoIHead(PointRendCascadeRoIHead, HybridTaskCascadeRoIHead):
    """Hybrid Task Cascade RoI head with a PointRend mask branch.

    Kept from mmdet's :class:`HybridTaskCascadeRoIHead`: the box cascade
    with semantic fusion, the semantic segmentation branch and its loss,
    interleaved execution (each stage's mask branch trains on the boxes its
    box head regressed, re-assigned and re-sampled), and the semantic
    features (``semantic_roi_extractor`` on the fused semantic map) added to
    every stage's coarse-head grid when ``'mask'`` is in
    ``semantic_fusion``. The point head reads P2 at its points only, as in
    PointRend.

    Not kept: the mask information flow (``mask_info_flow`` must be False).
    HTC feeds each stage's FCN head the previous stage's 14x14 conv
    features; the coarse head has no such map to pass on (its output is a
    7x7 class mask from fully connected layers), and the detail the flow
    adds is what the point head's subdivision provides. At test time the
    stages' coarse predictions are merged (mean probability) as in
    :class:`PointRendCascadeRoIHead`; mmdet's HTC without the flow would
    use the last stage's alone.

    Args:
        mask_info_flow (bool): Must be False. Defaults to False.
        **kwargs: :class:`PointRendCascadeRoIHead` and
            :class:`HybridTaskCascadeRoIHead` arguments.
    """

    def __init__(self, *args, mask_info_flow: bool = False, **kwargs) -> None:
        if mask_info_flow:
            raise ValueError(
                'PointRendHTCRoIHead has no mask information flow (the coarse '
                'head passes no feature map between stages): set '
                'roi_head.mask_info_flow=False')
        super().__init__(*args, mask_info_flow=False, **kwargs)

    def grid_features(self, stage, x, rois, features, semantic_feat=None):
        """The stage's grid plus HTC's semantic features of the boxes."""
        grid = super().grid_features(stage, x, rois, features)
        if semantic_feat is not None and 'mask' in self.semantic_fusion:
            semantic = self.semantic_roi_extractor([semantic_feat], rois)
            if semantic.shape[-2:] != grid.shape[-2:]:
                semantic = F.adaptive_avg_pool2d(semantic, grid.shape[-2:])
            grid = grid + semantic
        return grid

    def predict_mask(self,
                     x: Tuple[Tensor],
                     semantic_heat: Optional[Tensor],
                     batch_img_metas: List[dict],
                     results_list: InstanceList,
                     rescale: bool = False) -> InstanceList:
        """Refine and paste the masks of the final boxes, with HTC's
        semantic features (``semantic_heat``: mmdet's argument name)."""
        return self.point_rend.predict(
            results_list, batch_img_metas, rescale,
            lambda rois, labels: self.refine_masks(
                x, rois, labels, semantic_feat=semantic_heat))
