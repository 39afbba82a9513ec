"""What makes an MMDetection RoI head a PointRend host: mixins that hold a
:class:`PointRendMaskBranch` and answer mmdet's calls with it, so that a
host only says where its coarse prediction comes from.

- :class:`PointRendHost` for hosts with :class:`StandardRoIHead`'s method
  signatures: write ``coarse_predictions(x, rois)``.
- :class:`PointRendCascadeHost` for :class:`CascadeRoIHead`'s (a mask
  stage per box stage): write ``grid_features(stage, x, rois, features)``
  only if the grid is not the stage extractor's.

See docs/design.md, "Adding a host".
"""
import logging
from functools import partial
from typing import List, Optional, Tuple

import torch
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList
from mmengine.logging import print_log
from torch import Tensor

from ..utils import PointFeatures, StepCallback
from .mask_branch_settings import LOSS_POINT
from .point_rend_mask_branch import PointRendMaskBranch


def drop_degenerate_gt(batch_data_samples: list) -> None:
    """Drop ground-truth instances whose box has no area or is not finite
    (their box-regression target would be ``log(0)``; nothing can be
    learned from them), with a warning.

    The data pipeline is the usual place for this, and with COCO-format
    data it never triggers (mmdet's ``CocoDataset`` skips boxes under 1 px
    when parsing). It stays as a guard because a user's own dataset or
    pipeline need not filter (mmdet's ``FilterAnnotations`` is opt-in) and
    one such box turns the whole loss into NaN.
    """
    for sample in batch_data_samples:
        gt = sample.gt_instances
        boxes = get_box_tensor(gt.bboxes)
        keep = torch.isfinite(boxes).all(1) & (boxes[:, 2] > boxes[:, 0]) & (
            boxes[:, 3] > boxes[:, 1])
        if not bool(keep.all()):
            print_log(
                f'{int((~keep).sum())} ground-truth instance(s) with an '
                'empty or non-finite box dropped from '
                f"{sample.metainfo.get('img_path', 'an image')}",
                logger='current',
                level=logging.WARNING)
            sample.gt_instances = gt[keep]


class PointRendHostBase:
    """What every PointRend host does, whatever mmdet's signatures: build
    its :class:`PointRendMaskBranch` (``self.mask_branch``, which builds
    the mask modules from mmdet's ``init_mask_head``), drop degenerate
    ground truth, refine and paste masks. Use :class:`PointRendHost` or
    :class:`PointRendCascadeHost`.

    Args: ``point_head``, ``loss_point``, ``uncertainty`` and
    ``stage_train_cfg`` are :class:`PointRendMaskBranch`'s; the rest are
    the host's (``mask_roi_extractor``, a :class:`PointRendGridExtractor`,
    ``mask_head`` and ``bbox_head`` required; ``train_cfg`` / ``test_cfg``
    take the branch's keys, :mod:`.mask_branch_settings`).
    """

    mask_branch: PointRendMaskBranch

    def __init__(self,
                 *args,
                 point_head: dict,
                 loss_point: dict = LOSS_POINT,
                 uncertainty: str = 'binary_uncertainty',
                 stage_train_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        # a plain object, so it may be set before nn.Module's __init__:
        # mmdet's __init__ calls init_mask_head, which builds through it
        self.mask_branch = PointRendMaskBranch(point_head, loss_point,
                                               uncertainty, stage_train_cfg)
        kwargs = self.mask_branch.configure(type(self).__name__, kwargs)
        super().__init__(*args, **kwargs)
        self.mask_branch.attach(self)

    def init_mask_head(self, mask_roi_extractor, mask_head) -> None:
        """The branch builds the extractor(s) and coarse head(s)."""
        self.mask_branch.build_mask_modules(self, mask_roi_extractor,
                                            mask_head)

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: list) -> dict:
        """The host's loss, after dropping ground-truth instances with an
        empty or non-finite box (:func:`drop_degenerate_gt`)."""
        drop_degenerate_gt(batch_data_samples)
        return super().loss(x, rpn_results_list, batch_data_samples)

    def refine_masks(self,
                     x: Tuple[Tensor],
                     rois: Tensor,
                     labels: Tensor,
                     on_step: Optional[StepCallback] = None,
                     **context) -> Tensor:
        """``(R, 1, S, S)`` subdivision logits of the predicted ``labels``
        of ``(R, 5)`` rois (:meth:`PointRendMaskBranch.refine_masks`);
        ``context`` goes to ``coarse_predictions`` (HTC's
        ``semantic_feat``)."""
        return self.mask_branch.refine_masks(
            partial(self.coarse_predictions, x, **context), rois, labels,
            on_step)

    def predict_mask(self,
                     x: Tuple[Tensor],
                     batch_img_metas: List[dict],
                     results_list: InstanceList,
                     rescale: bool = False) -> InstanceList:
        """Refine and paste the masks of the detected boxes
        (:meth:`PointRendMaskBranch.predict`)."""
        return self.mask_branch.predict(
            partial(self.coarse_predictions, x), results_list, batch_img_metas,
            rescale)


class PointRendHost(PointRendHostBase):
    """Mixin before an mmdet RoI head with :class:`StandardRoIHead`'s
    signatures: its mask branch is PointRend's.

    ``class MyHost(PointRendHost, StandardRoIHead)`` writes one method,
    ``coarse_predictions(x, rois) -> (PointFeatures, coarse)``; training
    (:meth:`mask_loss`), inference (:meth:`predict_mask`) and the public
    :meth:`refine_masks` come from the branch. Arguments: see
    :class:`PointRendHostBase`.
    """

    def coarse_predictions(self, x: Tuple[Tensor],
                           rois: Tensor) -> Tuple[PointFeatures, Tensor]:
        """``(R, 5)`` rois -> their :class:`PointFeatures` and the coarse
        prediction the host refines. Every host writes it."""
        raise NotImplementedError(
            f'{type(self).__name__} must say where its coarse prediction '
            'comes from: implement coarse_predictions(x, rois)')

    def bbox_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult]) -> dict:
        """The host's box loss; with ``mask_on_refined_boxes`` the
        positives move to their regressed boxes for the mask branch."""
        results = super().bbox_loss(x, sampling_results)
        self.mask_branch.regress_positive_boxes(0, self.bbox_head,
                                                sampling_results, results)
        return results

    def mask_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult], bbox_feats: Tensor,
                  batch_gt_instances: InstanceList) -> dict:
        """:meth:`PointRendMaskBranch.loss` (``bbox_feats`` is unused,
        mmdet's signature)."""
        return self.mask_branch.loss(
            partial(self.coarse_predictions, x), sampling_results,
            batch_gt_instances)


class PointRendCascadeHost(PointRendHostBase):
    """Mixin before an mmdet cascade RoI head (:class:`CascadeRoIHead`'s
    signatures): a coarse head per stage, trained on that stage's positives
    with the stage's loss weight, one shared point head; at test time the
    stages' coarse predictions of the final boxes are merged by the last
    coarse head (``merge_stages``) and refined once.

    A host overrides :meth:`grid_features` when the coarse heads read more
    than their stage's extractor (HTC's semantic features). ``train_cfg``
    is the cascade's list of stage configs.
    """

    def grid_features(self,
                      stage: int,
                      x: Tuple[Tensor],
                      rois: Tensor,
                      features: Optional[PointFeatures],
                      semantic_feat: Optional[Tensor] = None) -> Tensor:
        """Stage ``stage``'s coarse-head input ``(R, C, S, S)``: its
        extractor's grid (``features``: the rois' laid-out levels, when
        they are the ones the extractor reads)."""
        return self.mask_roi_extractor[stage](x, rois, features)

    def stage_coarse_predictions(
        self,
        stage: int,
        x: Tuple[Tensor],
        rois: Tensor,
        semantic_feat: Optional[Tensor] = None
    ) -> Tuple[PointFeatures, Tensor]:
        """``(R, 5)`` rois -> their :class:`PointFeatures` and stage
        ``stage``'s coarse prediction (training)."""
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
        last coarse head; the :class:`PointFeatures` of the last stage's
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

    def bbox_loss(self, stage: int, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult], **kwargs) -> dict:
        """Stage ``stage``'s box loss; with that stage's
        ``mask_on_refined_boxes`` its positives move to their regressed
        boxes for the mask branch."""
        results = super().bbox_loss(stage, x, sampling_results, **kwargs)
        self.mask_branch.regress_positive_boxes(stage, self.bbox_head[stage],
                                                sampling_results, results)
        return results

    def mask_loss(self,
                  stage: int,
                  x: Tuple[Tensor],
                  sampling_results: List[SamplingResult],
                  batch_gt_instances: InstanceList,
                  semantic_feat: Optional[Tensor] = None) -> dict:
        """:meth:`PointRendMaskBranch.loss` of stage ``stage``; mmdet
        weighs its ``loss_mask`` and ``loss_point`` by the stage's loss
        weight."""
        return self.mask_branch.loss(
            partial(
                self.stage_coarse_predictions,
                stage,
                x,
                semantic_feat=semantic_feat), sampling_results,
            batch_gt_instances, stage)
