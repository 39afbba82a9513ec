# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""PointRend RoI head for MMDetection's Mask R-CNN (paper sections 3 and
4): mmdet's :class:`StandardRoIHead` holding a :class:`PointRendMaskBranch`.

Shape shorthand: ``R`` boxes of the whole batch, ``K`` classes, ``M`` coarse
mask side.
"""
from typing import List, Optional, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..utils import PointFeatures, StepCallback
from .point_rend_mask_branch import (LOSS_POINT, PointRendMaskBranch,
                                     build_point_head, build_train_points,
                                     drop_degenerate_gt,
                                     test_cfg_with_defaults,
                                     train_cfg_with_defaults)


@DET_MODELS.register_module()
class PointRendInstanceRoIHead(StandardRoIHead):
    """Mask R-CNN RoI head with a PointRend mask branch.

    Box branch: MMDetection's :class:`StandardRoIHead`, unchanged. Mask
    branch: ``mask_roi_extractor`` (a :class:`PointRendGridExtractor`) reads a
    14x14 grid of P2 per box, ``mask_head`` (a
    :class:`PointRendCoarseMaskHead`) predicts 7x7 coarse logits, and
    ``point_head`` (a :class:`PointRendPointHead`) predicts points from P2
    features and the coarse logits at those points.

    Training (``train_cfg.rcnn``): ``num_points`` points per positive box
    chosen by importance sampling (``oversample_ratio`` k,
    ``importance_sample_ratio`` beta, uncertainty ``-|GT-class logit|``), or a
    regular grid with ``point_sampling='grid'``; their labels are bilinear
    samples of each instance's raster and the coarse targets its aligned
    RoIAlign in the box, as detectron2 trains (``MaskPointSampler``). With
    ``mask_on_refined_boxes`` the mask branch trains on the positive boxes
    after the box head's regression (paper section 4, "cascade"), as it sees
    them at inference.

    Inference (``test_cfg.rcnn``): adaptive subdivision of the predicted
    class's coarse logits, ``subdivision_steps`` times by ``scale_factor``,
    each predicting at most ``subdivision_num_points`` points; only the
    predicted class's channel is ever refined, all boxes of the batch at once
    (in chunks sized by ``chunk_memory_mb``, see :meth:`chunk_size`); each
    mask is pasted
    only around its box. With ``adaptive_resolution`` a box stops subdividing
    once its mask resolution reaches its size in the image (later steps only
    upsample it). With ``drop_empty_boxes`` the output boxes are clipped to
    the output image and detections whose box is then empty are dropped
    (detectron2's ``detector_postprocess``); mmdet keeps them.

    Args:
        point_head (dict): Config of the point head (any
            :class:`BasePointHead`). Its ``num_classes`` and the coarse
            head's default to the box head's.
        loss_point (dict): Loss on ``(R, P)`` point logits and ``[0, 1]``
            labels. Defaults to mean sigmoid cross-entropy.
        uncertainty (str): Registered name (mmengine ``FUNCTIONS``) of the
            point-selection measure on ``(R, 1, ...)`` class logits, in
            training and inference. Defaults to 'binary_uncertainty'.
        **kwargs: :class:`StandardRoIHead` arguments; ``mask_roi_extractor``,
            ``mask_head``, ``bbox_head``, ``train_cfg`` and ``test_cfg`` are
            required.
    """

    def __init__(self,
                 point_head: ConfigType,
                 loss_point: ConfigType = LOSS_POINT,
                 uncertainty: str = 'binary_uncertainty',
                 **kwargs) -> None:
        kwargs['train_cfg'] = train_cfg_with_defaults(kwargs.get('train_cfg'))
        kwargs['test_cfg'] = test_cfg_with_defaults(kwargs.get('test_cfg'))
        point_head, kwargs['mask_head'] = build_point_head(
            point_head, kwargs.get('mask_head'),
            kwargs.get('bbox_head', {}).get('num_classes'))
        super().__init__(**kwargs)
        if not (self.with_bbox and self.with_mask):
            raise ValueError('PointRendInstanceRoIHead needs bbox_head, '
                             'mask_roi_extractor and mask_head')
        self.point_rend = PointRendMaskBranch.attach(self, point_head,
                                                     loss_point, uncertainty)
        self.train_points = None
        if self.train_cfg is not None:
            self.train_points = build_train_points(self.train_cfg)
        self.point_rend.check(self.mask_roi_extractor, self.mask_head,
                              self.bbox_head.num_classes, self.train_cfg,
                              self.train_points)

    def coarse_predictions(self, x: Tuple[Tensor],
                           rois: Tensor) -> Tuple[PointFeatures, Tensor]:
        """``(R, 5)`` rois -> their :class:`PointFeatures` (P2 laid out
        channels-last once, for the grid and every later point) and the
        coarse prediction (``(R, K, M, M)`` logits)."""
        features = self.mask_roi_extractor.point_features(x, rois)
        return features, self.mask_head(
            self.mask_roi_extractor(x, rois, features))

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: list) -> dict:
        """mmdet's RoI-head loss, after dropping ground-truth instances
        with an empty or non-finite box (:func:`drop_degenerate_gt`)."""
        drop_degenerate_gt(batch_data_samples)
        return super().loss(x, rpn_results_list, batch_data_samples)

    def bbox_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult]) -> dict:
        """mmdet's box loss; with ``mask_on_refined_boxes`` it also moves
        each image's positive boxes to their regressed positions (detached)
        for the mask branch."""
        bbox_results = super().bbox_loss(x, sampling_results)
        if self.train_cfg.mask_on_refined_boxes:
            self.point_rend.refine_positive_boxes(self.bbox_head,
                                                  sampling_results,
                                                  bbox_results['bbox_pred'])
        return bbox_results

    def mask_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult], bbox_feats: Tensor,
                  batch_gt_instances: InstanceList) -> dict:
        """:meth:`PointRendMaskBranch.loss` of the mask head
        (``bbox_feats`` is unused, mmdet's signature)."""
        return self.point_rend.loss(self.coarse_predictions, self.mask_head, x,
                                    sampling_results, batch_gt_instances,
                                    self.train_cfg, self.train_points)

    # ------------------------------------------------------------------
    # inference (public: the ONNX graph and the tools call these and
    # point_rend's refine_chunk / chunk_size)
    # ------------------------------------------------------------------
    def refine_masks(self,
                     x: Tuple[Tensor],
                     rois: Tensor,
                     labels: Tensor,
                     on_step: Optional[StepCallback] = None) -> Tensor:
        """``(R, 1, S, S)`` subdivision logits of the predicted ``labels``
        of ``(R, 5)`` rois (:meth:`PointRendMaskBranch.refine`)."""
        features, coarse = self.coarse_predictions(x, rois)
        return self.point_rend.refine(features, coarse, rois, labels,
                                      self.mask_head,
                                      self.num_refined_points(len(rois)),
                                      on_step)

    def num_refined_points(self, num_rois: int) -> int:
        """Points the subdivision will predict for ``num_rois`` boxes."""
        return self.point_rend.num_refined_points(self.mask_head, num_rois)

    def predict_mask(self,
                     x: Tuple[Tensor],
                     batch_img_metas: List[dict],
                     results_list: InstanceList,
                     rescale: bool = False) -> InstanceList:
        """Refine and paste the masks of the detected boxes
        (:meth:`PointRendMaskBranch.predict`).

        Args:
            x (tuple[Tensor]): Neck outputs.
            batch_img_metas (list[dict]): Per image, with ``ori_shape`` and
                ``scale_factor``.
            results_list (list[InstanceData]): Per image, ``bboxes`` (at the
                test-image scale), ``labels`` and ``scores``.
            rescale (bool): Return boxes and masks at the original image
                scale; otherwise at the test-image scale. Defaults to False.

        Returns:
            list[InstanceData]: The same instances with ``masks`` ``(n, H, W)``
            (bool) and, with ``rescale``, boxes in original pixels.
        """
        return self.point_rend.predict(
            results_list, batch_img_metas, rescale,
            lambda rois, labels: self.refine_masks(x, rois, labels))
