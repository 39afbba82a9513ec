# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""PointRend RoI head for MMDetection (paper sections 3 and 4).

Shape shorthand: ``B`` images, ``R`` boxes of the whole batch, ``K`` classes,
``P`` points per box, ``C`` fine-grained channels, ``M`` coarse mask side.
"""
import logging
import math
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox2roi, get_box_tensor
from mmdet.utils import ConfigType, InstanceList
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..checks import check_keys
from ..point_samplers import AnnotatedPointSampler, MaskPointSampler
from ..uncertainty import build_uncertainty
from ..utils import (PointFeatures, StepCallback, all_regions,
                     plan_subdivision, subdivide)

# Keys the PointRend RoI head reads from ``train_cfg.rcnn`` / ``test_cfg.rcnn``
# beside mmdet's own; anything else is reported as a likely typo.
_TRAIN_KEYS = {
    'assigner', 'sampler', 'pos_weight', 'debug', 'mask_size',
    'soft_mask_target', 'num_points', 'oversample_ratio',
    'importance_sample_ratio', 'point_sampling', 'mask_on_refined_boxes'
}
_TEST_KEYS = {
    'score_thr', 'nms', 'max_per_img', 'mask_thr_binary', 'subdivision_steps',
    'subdivision_num_points', 'scale_factor', 'chunk_memory_mb',
    'adaptive_resolution', 'drop_empty_boxes'
}
_TRAIN_DEFAULTS = dict(
    num_points=14 * 14,
    oversample_ratio=3,
    importance_sample_ratio=0.75,
    point_sampling='importance',
    mask_on_refined_boxes=False)
_TEST_DEFAULTS = dict(
    subdivision_steps=5,
    subdivision_num_points=28 * 28,
    scale_factor=2,
    mask_thr_binary=0.5,
    chunk_memory_mb=None,
    adaptive_resolution=False,
    drop_empty_boxes=False)


def _build_train_points(train_cfg: ConfigDict):
    """The training-point strategy of ``train_cfg.point_sampling``: a name
    ('importance', 'grid', 'uniform': :class:`MaskPointSampler` with the
    config's ``num_points``, ``oversample_ratio``,
    ``importance_sample_ratio``; 'annotated': :class:`AnnotatedPointSampler`)
    or the config of any strategy registered in mmdet's ``TASK_UTILS``."""
    sampling = train_cfg.point_sampling
    if isinstance(sampling, dict):
        return TASK_UTILS.build(sampling)
    if sampling == 'annotated':
        return AnnotatedPointSampler()
    return MaskPointSampler(
        mode=sampling,
        num_points=train_cfg.num_points,
        oversample_ratio=train_cfg.oversample_ratio,
        importance_sample_ratio=train_cfg.importance_sample_ratio)


def _with_defaults(cfg: Optional[dict], defaults: dict) -> Optional[dict]:
    if cfg is None:
        return None
    merged = ConfigDict(defaults)
    merged.update(cfg)
    return merged


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
    regular grid with ``point_sampling='grid'``; their labels are read from
    the ground-truth polygons or bitmaps at the points. With
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
        loss_point (dict): Loss on ``(R, P)`` point logits and ``{0, 1}``
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
                 loss_point: ConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     loss_weight=1.0),
                 uncertainty: str = 'binary_uncertainty',
                 **kwargs) -> None:
        # num_classes is stated once, in the box head (as in mmdet's
        # configs); the coarse and point heads take it unless they state it
        num_classes = kwargs.get('bbox_head', {}).get('num_classes')
        if num_classes is not None:
            point_head = dict(
                point_head,
                num_classes=point_head.get('num_classes', num_classes))
            if kwargs.get('mask_head') is not None:
                kwargs['mask_head'] = dict(
                    kwargs['mask_head'],
                    num_classes=kwargs['mask_head'].get(
                        'num_classes', num_classes))
        check_keys(kwargs.get('train_cfg'), _TRAIN_KEYS, 'train_cfg.rcnn')
        check_keys(kwargs.get('test_cfg'), _TEST_KEYS, 'test_cfg.rcnn')
        kwargs['train_cfg'] = _with_defaults(
            kwargs.get('train_cfg'), _TRAIN_DEFAULTS)
        kwargs['test_cfg'] = _with_defaults(
            kwargs.get('test_cfg'), _TEST_DEFAULTS)
        point_head = DET_MODELS.build(point_head)
        # what the point head needs of the mask head (Implicit PointRend:
        # how many parameters per box); the config's own values win
        if isinstance(kwargs.get('mask_head'), dict):
            kwargs['mask_head'] = dict(point_head.mask_head_args(),
                                       **kwargs['mask_head'])
        super().__init__(**kwargs)
        if not (self.with_bbox and self.with_mask):
            raise ValueError('PointRendInstanceRoIHead needs bbox_head, '
                             'mask_roi_extractor and mask_head')
        self.point_head = point_head
        self.loss_point = DET_MODELS.build(loss_point)
        self.train_points = None
        if self.train_cfg is not None:
            self.train_points = _build_train_points(self.train_cfg)
        self.uncertainty = build_uncertainty(uncertainty)
        self._check_consistency()

    def _check_consistency(self) -> None:
        """Sizes that must agree across heads, checked once at build time."""
        sizes = {
            'roi_head.bbox_head.num_classes': self.bbox_head.num_classes,
            'roi_head.mask_head.num_classes': self.mask_head.num_classes,
            'roi_head.point_head.num_classes': self.point_head.num_classes,
        }
        if len(set(sizes.values())) != 1:
            raise ValueError(f'num_classes must agree across heads: {sizes}')
        extractor = self.mask_roi_extractor
        if not hasattr(extractor, 'point_features'):
            raise TypeError(
                'roi_head.mask_roi_extractor must sample points (use '
                f'PointRendGridExtractor), got {type(extractor).__name__}')
        fine_channels = extractor.out_channels * len(extractor.featmap_indices)
        for name in ('mask_head', 'point_head'):
            head = getattr(self, name)
            if head.in_channels != fine_channels:
                raise ValueError(
                    f'roi_head.{name}.in_channels={head.in_channels} but the '
                    f'extractor gives {fine_channels} channels')
        if extractor.out_size != self.mask_head.roi_feat_size:
            raise ValueError(
                'roi_head.mask_roi_extractor.out_size='
                f'{extractor.out_size} must equal roi_head.mask_head.'
                f'roi_feat_size={self.mask_head.roi_feat_size}')
        if self.train_cfg is not None:
            mask_size = self.train_cfg.get('mask_size')
            if self.mask_head.uses_mask_targets and \
                    mask_size != self.mask_head.output_size:
                raise ValueError(
                    f'train_cfg.rcnn.mask_size={mask_size} must equal the '
                    f'coarse mask size {self.mask_head.output_size} '
                    '(mask_head.roi_feat_size / 2)')
            if self.train_points.needs_coarse_mask() and \
                    not self.mask_head.seeds_importance_sampling:
                raise ValueError(
                    f'{type(self.mask_head).__name__} gives no coarse mask '
                    'to sample points by uncertainty from: set '
                    "train_cfg.rcnn.point_sampling='uniform' (as detectron2's "
                    'Implicit PointRend) or \'grid\'')

    # ------------------------------------------------------------------
    # shared pieces
    # ------------------------------------------------------------------
    def coarse_predictions(self, x: Tuple[Tensor],
                           rois: Tensor) -> Tuple[PointFeatures, Tensor]:
        """``(R, 5)`` rois -> their :class:`PointFeatures` (P2 laid out
        channels-last once, for the grid and every later point) and ``(R,
        K, M, M)`` coarse logits."""
        features = self.mask_roi_extractor.point_features(x, rois)
        return features, self.mask_head(
            self.mask_roi_extractor(x, rois, features))

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: list) -> dict:
        """mmdet's RoI-head loss, after dropping ground-truth instances whose
        box has no area or is not finite (their box-regression target would
        be ``log(0)``; nothing can be learned from them), with a warning.

        The data pipeline is the usual place for this, and with COCO-format
        data it never triggers (mmdet's ``CocoDataset`` skips boxes under 1
        px when parsing). It stays as a guard because a user's own dataset
        or pipeline need not filter (mmdet's ``FilterAnnotations`` is
        opt-in) and one such box turns the whole loss into NaN.
        """
        for sample in batch_data_samples:
            gt = sample.gt_instances
            boxes = gt.bboxes
            boxes = get_box_tensor(boxes)
            keep = torch.isfinite(boxes).all(1) & (
                boxes[:, 2] > boxes[:, 0]) & (
                    boxes[:, 3] > boxes[:, 1])
            if not bool(keep.all()):
                print_log(
                    f'{int((~keep).sum())} ground-truth instance(s) with an '
                    'empty or non-finite box dropped from '
                    f"{sample.metainfo.get('img_path', 'an image')}",
                    logger='current',
                    level=logging.WARNING)
                sample.gt_instances = gt[keep]
        return super().loss(x, rpn_results_list, batch_data_samples)

    def bbox_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult]) -> dict:
        """mmdet's box loss; with ``mask_on_refined_boxes`` it also moves
        each image's positive boxes to their regressed positions (detached)
        for the mask branch."""
        bbox_results = super().bbox_loss(x, sampling_results)
        if self.train_cfg.mask_on_refined_boxes:
            self._refine_positive_boxes(sampling_results,
                                        bbox_results['bbox_pred'])
        return bbox_results

    def _refine_positive_boxes(self, sampling_results: List[SamplingResult],
                               bbox_pred: Tensor) -> None:
        """Replace ``pos_priors`` by the box head's decoded predictions.

        ``bbox_pred`` rows follow ``bbox2roi([res.priors])``: per image its
        positives first, then its negatives.
        """
        head = self.bbox_head
        start = 0
        for res in sampling_results:
            num_pos = len(res.pos_priors)
            deltas = bbox_pred[start:start + num_pos].detach()
            start += len(res.priors)
            if num_pos == 0:
                continue
            if not head.reg_class_agnostic:
                deltas = deltas.reshape(num_pos, -1, 4)[torch.arange(num_pos),
                                                        res.pos_gt_labels]
            res.pos_priors = head.bbox_coder.decode(res.pos_priors, deltas)

    def mask_loss(self, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult], bbox_feats: Tensor,
                  batch_gt_instances: InstanceList) -> dict:
        """Coarse mask loss and point loss on the positive boxes.

        The training-point strategy (:attr:`train_points`, from
        ``train_cfg.point_sampling``) chooses the points, their labels and
        weights, and how the coarse head is supervised: on mask targets
        (:class:`MaskPointSampler`) or at annotated points
        (:class:`AnnotatedPointSampler`, PointSup).

        Args:
            x (tuple[Tensor]): Neck outputs.
            sampling_results (list[SamplingResult]): Per image.
            bbox_feats (Tensor): Unused (mmdet's signature).
            batch_gt_instances (list[InstanceData]): Per image, with
                ``masks`` as :class:`BitmapMasks` or :class:`PolygonMasks`,
                or, for point supervision, ``point_coords`` (box-relative)
                and ``point_labels``.

        Returns:
            dict: ``mask_preds`` (coarse logits), ``mask_targets`` and
            ``loss_mask`` (a dict with the mask head's losses and
            ``loss_point``).
        """
        pos_rois = bbox2roi([res.pos_priors for res in sampling_results])
        labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        features, coarse = self.coarse_predictions(x, pos_rois)
        points = self.train_points.sample(coarse, labels, pos_rois,
                                          sampling_results, batch_gt_instances,
                                          self.uncertainty)
        losses, mask_targets = self.train_points.coarse_loss(
            self.mask_head, coarse, labels, points, sampling_results,
            batch_gt_instances, self.train_cfg, self.loss_point)
        predict = self.point_head.predictor(features, coarse, labels)
        point_logits = predict(points.points,
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

    # ------------------------------------------------------------------
    # inference
    # ------------------------------------------------------------------
    def refine_masks(self,
                     x: Tuple[Tensor],
                     rois: Tensor,
                     labels: Tensor,
                     on_step: Optional[StepCallback] = None) -> Tensor:
        """Subdivision inference for the predicted class of every box.

        The point head gives the predictor (:meth:`BasePointHead.predictor`;
        :class:`PointRendPointHead` evaluates its MLP factorised there, only
        the predicted class's row). Boxes go in chunks of
        :meth:`chunk_size`; the masks do not depend on the chunking.

        Args:
            x (tuple[Tensor]): Neck outputs.
            rois (Tensor): ``(R, 5)`` boxes of the whole batch.
            labels (Tensor): ``(R,)`` predicted classes.
            on_step (Callable, optional): Called per chunk and step with the
                step's record (see :func:`subdivision_step`) plus
                ``region_offset``, the first box of the chunk.

        Returns:
            Tensor: ``(R, 1, M * s^T, M * s^T)`` logits of the predicted
            class (224x224 with the paper's settings).
        """
        features, coarse = self.coarse_predictions(x, rois)
        features = self.point_head.prepare_features(
            features, self.num_refined_points(len(rois)))
        chunk = self.chunk_size(features, rois.device)
        refined = []
        for start in range(0, rois.shape[0], chunk):
            report = None if on_step is None else (
                lambda record, start=start: on_step(
                    dict(record, region_offset=start)))
            refined.append(
                self.refine_chunk(features, coarse, rois, labels, start,
                                  start + chunk, report))
        return torch.cat(refined)

    def refine_chunk(self,
                     features: PointFeatures,
                     coarse: Tensor,
                     rois: Tensor,
                     labels: Tensor,
                     start: int = 0,
                     end: Optional[int] = None,
                     on_step: Optional[StepCallback] = None) -> Tensor:
        """Subdivision of the boxes ``start:end`` (all by default): ``(R',
        1, S, S)`` logits of their predicted class. The ONNX graph calls it
        once on all boxes (their number is dynamic there)."""
        cfg = self.test_cfg
        if end is None:
            end = rois.shape[0]
        predict = self.point_head.predictor(
            features.select(start, end),
            coarse[start:end],
            labels[start:end],
            inference=True)
        initial = self.mask_head.initial_logits(coarse[start:end],
                                                labels[start:end], predict,
                                                cfg.subdivision_num_points)
        return subdivide(
            initial,
            predict,
            self.uncertainty,
            cfg.subdivision_steps,
            cfg.subdivision_num_points,
            cfg.scale_factor,
            region_steps=self._region_steps(rois[start:end],
                                            initial.shape[-1]),
            on_step=on_step)

    def chunk_size(self, features: PointFeatures, device: torch.device) -> int:
        """Boxes refined at once: as many as the point head's temporaries
        for one step (``subdivision_num_points`` points per box,
        :meth:`BasePointHead.bytes_per_point`) fit in ``chunk_memory_mb``.

        The budget defaults by device: on the CPU 24 MB (5 boxes of 784
        points of the paper's head; larger chunks were no faster on this
        project's machine, see docs/benchmarks.md); on CUDA 512 MB (100
        boxes of 784 points in one chunk, so each kernel runs once per
        step), capped at a quarter of the free memory.
        """
        budget = self.test_cfg.chunk_memory_mb
        if budget is None:
            budget = 24
            if device.type == 'cuda':
                free, _ = torch.cuda.mem_get_info(device)
                budget = min(512, free / 4 / 2**20)
        per_box = self.point_head.bytes_per_point(features) * \
            self.test_cfg.subdivision_num_points
        return max(1, int(budget * 2**20 // per_box))

    def _region_steps(self, rois: Tensor, side: int) -> Optional[Tensor]:
        """Steps per box with ``adaptive_resolution``: a box stops
        subdividing once its mask side ``side * s^t`` reaches the box's
        larger side in test-image pixels (paper Fig. 7, Table 3)."""
        cfg = self.test_cfg
        if not cfg.adaptive_resolution:
            return None
        size = (rois[:, 3:5] - rois[:, 1:3]).amax(1).clamp(min=1)
        steps = torch.ceil(torch.log(size / side) / math.log(cfg.scale_factor))
        return steps.clamp(0, cfg.subdivision_steps).long()

    def num_refined_points(self, num_rois: int) -> int:
        """Points the subdivision will predict for ``num_rois`` boxes
        (:func:`plan_subdivision` from the coarse mask side)."""
        cfg = self.test_cfg
        side = self.mask_head.output_size
        plan = plan_subdivision(side, side, cfg.subdivision_steps,
                                cfg.subdivision_num_points, cfg.scale_factor)
        return num_rois * sum(
            min(cells, cfg.subdivision_num_points)
            for cells, _, predict in plan if predict)

    def predict_mask(self,
                     x: Tuple[Tensor],
                     batch_img_metas: List[dict],
                     results_list: InstanceList,
                     rescale: bool = False) -> InstanceList:
        """Refine and paste the masks of the detected boxes.

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
        out_shapes, out_boxes = [], []
        for i, (res, meta) in enumerate(zip(results_list, batch_img_metas)):
            boxes = res.bboxes
            if rescale:
                img_h, img_w = meta['ori_shape'][:2]
                boxes = boxes / boxes.new_tensor(
                    meta['scale_factor']).repeat(2)
            else:
                img_h = int(
                    np.round(meta['ori_shape'][0] * meta['scale_factor'][1]))
                img_w = int(
                    np.round(meta['ori_shape'][1] * meta['scale_factor'][0]))
            if self.test_cfg.drop_empty_boxes:
                boxes, keep = _clip_nonempty(boxes, img_h, img_w)
                results_list[i] = res[keep]
            out_shapes.append((img_h, img_w))
            out_boxes.append(boxes)
        # the mask branch reads the boxes at the test-image scale
        rois = bbox2roi([res.bboxes for res in results_list])
        labels = torch.cat([res.labels for res in results_list])
        probs = None
        if rois.shape[0] > 0:
            probs = self.refine_masks(x, rois, labels).sigmoid()
            probs = probs.split([len(res) for res in results_list])
        for i, res in enumerate(results_list):
            res.bboxes = out_boxes[i]
            res.masks = paste_masks(
                probs[i][:, 0] if probs is not None else None, res.bboxes,
                *out_shapes[i], self.test_cfg.mask_thr_binary)
        return results_list


def _clip_nonempty(boxes: Tensor, img_h: int,
                   img_w: int) -> Tuple[Tensor, Tensor]:
    """detectron2's ``detector_postprocess`` on output boxes: clip ``(n, 4)``
    boxes to the image and keep those that still have an area.

    Returns:
        tuple: the kept clipped boxes and the ``(n,)`` bool keep mask.
    """
    x0, y0, x1, y1 = boxes.unbind(1)
    boxes = torch.stack([
        x0.clamp(0, img_w),
        y0.clamp(0, img_h),
        x1.clamp(0, img_w),
        y1.clamp(0, img_h)
    ], 1)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[keep], keep


def paste_masks(probs: Optional[Tensor], boxes: Tensor, img_h: int, img_w: int,
                threshold: float) -> Tensor:
    """Paste box-relative probability maps into the image, one box at a time.

    Each mask is resampled only over the pixels around its own box
    (MMDetection's ``_do_paste_mask`` with ``skip_empty``), so the cost is the
    sum of the box areas and the memory one ``(H, W)`` bool per box.

    Args:
        probs (Tensor, optional): ``(n, S, S)`` probabilities; None if n = 0.
        boxes (Tensor): ``(n, 4)`` boxes in the output image's pixels.
        img_h (int): Output height.
        img_w (int): Output width.
        threshold (float): Binarisation threshold; a negative one returns
            ``uint8`` maps of ``255 * prob`` instead (mmdet's convention).

    Returns:
        Tensor: ``(n, img_h, img_w)`` bool (or uint8) masks.
    """
    dtype = torch.bool if threshold >= 0 else torch.uint8
    masks = torch.zeros((len(boxes), img_h, img_w),
                        dtype=dtype,
                        device=boxes.device)
    if probs is None or len(boxes) == 0:
        return masks
    x0, y0, x1, y1 = boxes.unbind(1)
    # Boxes without area or without any overlap with the image paste nothing.
    valid = (x1 > x0) & (y1 > y0) & (x1 > 0) & (y1 > 0) & (x0 < img_w) & \
        (y0 < img_h) & torch.isfinite(boxes).all(1)
    for i in torch.nonzero(valid)[:, 0].tolist():
        pasted, (rows, cols) = _do_paste_mask(
            probs[i][None, None],
            boxes[i][None],
            img_h,
            img_w,
            skip_empty=True)
        if threshold >= 0:
            pasted = pasted[0] >= threshold
        else:
            pasted = (pasted[0] * 255).to(torch.uint8)
        masks[i, rows, cols] = pasted
    return masks
