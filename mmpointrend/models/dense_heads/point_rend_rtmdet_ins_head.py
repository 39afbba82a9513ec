"""PointRend on RTMDet-Ins: mmdet's :class:`RTMDetInsSepBNHead` holding a
:class:`PointRendDenseRefiner`.

The host's coarse prediction of an instance is its stride-8 mask logit map
(``_mask_predict_by_feat_single``). The head takes one more feature level
than mmdet's, first: the stride-4 map :class:`FineLevelNeck` passes on.

Shape shorthand: ``n`` instances of one image, ``h x w`` the stride-8 map.
"""
from contextlib import contextmanager
from typing import Optional, Tuple

import torch
from mmcv.ops import batched_nms
from mmdet.models.dense_heads import RTMDetInsSepBNHead
from mmdet.structures.bbox import get_box_tensor, get_box_wh, scale_boxes
from mmdet.utils import reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..losses import PointSampledMaskLoss
from .point_rend_dense_refiner import PointRendDenseRefiner


@DET_MODELS.register_module()
class PointRendRTMDetInsHead(RTMDetInsSepBNHead):
    """RTMDet-Ins head whose instance masks PointRend refines.

    Training: mmdet's losses unchanged, plus ``loss_point`` on each
    positive's importance-sampled points in its ground-truth box
    (:meth:`PointRendDenseRefiner.loss`). Inference: mmdet's boxes, scores
    and labels; each kept instance's stride-8 logits resampled in its box
    and refined by subdivision up to the image's resolution, pasted only
    around the box (no full-image upsampling of every mask).

    With ``loss_mask=dict(type='PointSampledMaskLoss', ...)`` the host's
    own mask loss compares its stride-8 logits with the full-resolution
    masks at importance-sampled points instead of a dense stride-4 map
    (``mask_loss_stride``); that works without ``point_rend`` too.

    Args:
        point_rend (dict, optional): :class:`PointRendDenseRefiner`
            arguments (``point_head``, ``fine_channels``, ...). None: mmdet's
            masks (then the head reads mmdet's levels only).
        **kwargs: :class:`RTMDetInsSepBNHead` arguments.
    """

    def __init__(self,
                 *args,
                 point_rend: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mask_refiner = None
        if point_rend is not None:
            self.mask_refiner = PointRendDenseRefiner(**point_rend)
            self.mask_refiner.attach(self)

    def init_weights(self) -> None:
        """mmdet's initialisation, which does not recurse into added
        modules, then the point head's own."""
        super().init_weights()
        if getattr(self, 'mask_refiner', None) is not None:
            self.point_head.init_weights()

    def instance_logits(self, mask_feat: Tensor, kernels: Tensor,
                        priors: Tensor) -> Tensor:
        """The host's coarse prediction: ``(n, h, w)`` mask logits of the
        instances of ``kernels`` / ``priors`` on one image's prototypes."""
        return self._mask_predict_by_feat_single(mask_feat, kernels, priors)

    def forward(self, feats: Tuple[Tensor, ...]) -> tuple:
        """mmdet's outputs of ``feats[1:]``, then the fine map
        ``feats[0]``."""
        if self.mask_refiner is None:
            return super().forward(feats)
        if len(feats) != len(self.prior_generator.strides) + 1:
            raise ValueError(
                f'{type(self).__name__} reads the stride-4 map first and '
                f'then {len(self.prior_generator.strides)} levels, got '
                f'{len(feats)} levels: wrap the neck in FineLevelNeck')
        return super().forward(tuple(feats[1:])) + (feats[0], )

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss_by_feat(self, cls_scores, bbox_preds, kernel_preds, mask_feat,
                     *args, **kwargs) -> dict:
        """mmdet's losses and ``loss_point``."""
        if self.mask_refiner is None:
            return super().loss_by_feat(cls_scores, bbox_preds, kernel_preds,
                                        mask_feat, *args, **kwargs)
        fine_feat, args = args[0], args[1:]
        self._point_loss = None
        with self.mask_refiner.reading(fine_feat):
            losses = super().loss_by_feat(cls_scores, bbox_preds, kernel_preds,
                                          mask_feat, *args, **kwargs)
        losses['loss_point'] = self._point_loss
        del self._point_loss
        return losses

    def loss_mask_by_feat(self, mask_feats: Tensor, flatten_kernels: Tensor,
                          sampling_results_list: list,
                          batch_gt_instances: list) -> Tensor:
        """The host's mask loss (mmdet's, or :class:`PointSampledMaskLoss`
        of the stride-8 logits against the full-resolution masks); the
        point loss of the same positives is kept for
        :meth:`loss_by_feat`."""
        point_sampled = isinstance(self.loss_mask, PointSampledMaskLoss)
        if self.mask_refiner is None and not point_sampled:
            return super().loss_mask_by_feat(mask_feats, flatten_kernels,
                                             sampling_results_list,
                                             batch_gt_instances)
        logits, boxes, masks = [], [], []
        for mask_feat, kernels, res, gt in zip(mask_feats, flatten_kernels,
                                               sampling_results_list,
                                               batch_gt_instances):
            inds = res.pos_assigned_gt_inds
            logits.append(
                self.instance_logits(mask_feat, kernels[res.pos_inds],
                                     res.pos_priors))
            boxes.append(get_box_tensor(gt.bboxes)[inds])
            masks.append(gt.masks[inds] if len(inds) else gt.masks[:0])
        if point_sampled:
            num_pos = sum(len(lg) for lg in logits)
            num_pos = reduce_mean(mask_feats.new_tensor(
                [num_pos])).clamp_(min=1).item()
            loss_mask = self.loss_mask(
                torch.cat(logits), torch.cat(masks), avg_factor=num_pos)
        else:
            loss_mask = super().loss_mask_by_feat(mask_feats, flatten_kernels,
                                                  sampling_results_list,
                                                  batch_gt_instances)
        if self.mask_refiner is not None:
            stride = self.prior_generator.strides[0][0]
            input_hw = (mask_feats.shape[-2] * stride,
                        mask_feats.shape[-1] * stride)
            self._point_loss = self.mask_refiner.loss(logits, boxes, masks,
                                                      input_hw)
        return loss_mask

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def predict_by_feat(self, cls_scores, bbox_preds, kernel_preds, mask_feat,
                        *args, **kwargs):
        """mmdet's post-processing with the masks refined."""
        if self.mask_refiner is None:
            return super().predict_by_feat(cls_scores, bbox_preds,
                                           kernel_preds, mask_feat, *args,
                                           **kwargs)
        fine_feat, args = args[0], args[1:]
        with self._reading(fine_feat, kwargs.get('batch_img_metas') or []):
            return super().predict_by_feat(cls_scores, bbox_preds,
                                           kernel_preds, mask_feat, *args,
                                           **kwargs)

    @contextmanager
    def _reading(self, fine_feat: Tensor, metas: list):
        """The batch's fine map for the refiner, and which image each meta
        is (mmdet's per-image post-processing passes the meta only)."""
        with self.mask_refiner.reading(fine_feat):
            self._image_of = {id(meta): i for i, meta in enumerate(metas)}
            try:
                yield
            finally:
                del self._image_of

    def post_process_image(self,
                           results: InstanceData,
                           mask_feat: Tensor,
                           fine_feat: Tensor,
                           cfg,
                           img_meta: dict,
                           rescale: bool = True) -> InstanceData:
        """One image's post-processing (:meth:`_bbox_mask_post_process`)
        given its candidates, ``(P, h, w)`` prototypes and ``(1, C, H/4,
        W/4)`` fine map: what tests and benchmarks compare with mmdet's."""
        with self._reading(fine_feat, [img_meta]):
            return self._bbox_mask_post_process(results, mask_feat, cfg,
                                                rescale, True, img_meta)

    def _bbox_mask_post_process(self,
                                results: InstanceData,
                                mask_feat: Tensor,
                                cfg,
                                rescale: bool = False,
                                with_nms: bool = True,
                                img_meta: Optional[dict] = None):
        """mmdet's box post-processing (score factors, size filter, NMS,
        ``max_per_img``), then :meth:`PointRendDenseRefiner.predict` of the
        kept instances' logits instead of upsampling them to the image."""
        if self.mask_refiner is None:
            return super()._bbox_mask_post_process(results, mask_feat, cfg,
                                                   rescale, with_nms, img_meta)
        if not with_nms:
            raise ValueError('RTMDet-Ins post-processes with NMS only '
                             '(with_nms=True)')
        # mmdet filters and suppresses in the output's pixels; the refiner
        # reads the boxes in the input's and rescales them itself
        out_boxes = get_box_tensor(results.bboxes)
        if rescale:
            out_boxes = scale_boxes(out_boxes,
                                    [1 / s for s in img_meta['scale_factor']])
        results.out_boxes = out_boxes
        if hasattr(results, 'score_factors'):
            results.scores = results.scores * results.pop('score_factors')
        if cfg.get('min_bbox_size', -1) >= 0:
            w, h = get_box_wh(results.out_boxes)
            valid = (w > cfg.min_bbox_size) & (h > cfg.min_bbox_size)
            if not valid.all():
                results = results[valid]
        if results.bboxes.numel() > 0:
            det_bboxes, keep = batched_nms(results.out_boxes, results.scores,
                                           results.labels, cfg.nms)
            results = results[keep]
            results.scores = det_bboxes[:, -1]
            results = results[:cfg.max_per_img]
        logits = self.instance_logits(mask_feat, results.kernels,
                                      results.priors)
        stride = self.prior_generator.strides[0][0]
        input_hw = (mask_feat.shape[-2] * stride, mask_feat.shape[-1] * stride)
        out = InstanceData(
            bboxes=get_box_tensor(results.bboxes),
            scores=results.scores,
            labels=results.labels)
        coarse_fn = self.mask_refiner.coarse_fn(logits,
                                                self._image_of[id(img_meta)],
                                                input_hw)
        return self.mask_refiner.predict(coarse_fn, [out], [img_meta],
                                         rescale)[0]
