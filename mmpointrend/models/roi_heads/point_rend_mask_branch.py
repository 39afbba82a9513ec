# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""PointRend's mask branch (paper sections 3 and 4) as a component that an
MMDetection RoI head holds: :class:`PointRendInstanceRoIHead` (Mask R-CNN),
:class:`PointRendCascadeRoIHead` (Cascade Mask R-CNN) and
:class:`PointRendHTCRoIHead` (HTC) are glue around it.

The branch owns no modules: the host registers ``mask_roi_extractor``,
``mask_head`` (one per stage in a cascade), ``point_head`` and
``loss_point`` under mmdet's names, so state-dict keys stay
``roi_head.point_head.*``; the branch holds references to the shared point
head and loss and is handed the stage's coarse prediction.

Shape shorthand: ``B`` images, ``R`` boxes of the whole batch, ``K``
classes, ``P`` points per box, ``C`` fine-grained channels, ``M`` coarse
mask side.
"""
import logging
import math
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox2roi, get_box_tensor
from mmdet.utils import InstanceList
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from torch import Tensor, nn

from mmpointrend.registry import DET_MODELS
from ..checks import check_keys
from ..point_samplers import AnnotatedPointSampler, MaskPointSampler
from ..uncertainty import build_uncertainty
from ..utils import (PointFeatures, StepCallback, all_regions,
                     plan_subdivision, subdivide)

# Keys the PointRend mask branch reads from ``train_cfg.rcnn`` (each stage's
# in a cascade) / ``test_cfg.rcnn`` beside mmdet's own; anything else is
# reported as a likely typo.
TRAIN_KEYS = {
    'assigner', 'sampler', 'pos_weight', 'debug', 'mask_size',
    'soft_mask_target', 'num_points', 'oversample_ratio',
    'importance_sample_ratio', 'point_sampling', 'point_labels',
    'mask_on_refined_boxes'
}
TEST_KEYS = {
    'score_thr', 'nms', 'max_per_img', 'mask_thr_binary', 'subdivision_steps',
    'subdivision_num_points', 'scale_factor', 'chunk_memory_mb',
    'adaptive_resolution', 'drop_empty_boxes'
}
TRAIN_DEFAULTS = dict(
    num_points=14 * 14,
    oversample_ratio=3,
    importance_sample_ratio=0.75,
    point_sampling='importance',
    point_labels='bilinear',
    mask_on_refined_boxes=False)
TEST_DEFAULTS = dict(
    subdivision_steps=5,
    subdivision_num_points=28 * 28,
    scale_factor=2,
    mask_thr_binary=0.5,
    chunk_memory_mb=None,
    adaptive_resolution=False,
    drop_empty_boxes=False)

#: the point loss by default: mean sigmoid cross-entropy
LOSS_POINT = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)

# (x, rois) -> (PointFeatures, coarse prediction) of one stage
CoarseFn = Callable[[Tuple[Tensor], Tensor], Tuple[PointFeatures, Tensor]]


def with_defaults(cfg: Optional[dict], known: set, defaults: dict,
                  where: str) -> Optional[dict]:
    """``cfg`` (``train_cfg.rcnn`` or ``test_cfg.rcnn``, named ``where`` in
    messages) checked against the ``known`` keys, with ``defaults``."""
    if cfg is None:
        return None
    check_keys(cfg, known, where)
    merged = ConfigDict(defaults)
    merged.update(cfg)
    return merged


def train_cfg_with_defaults(cfg: Optional[dict],
                            where: str = 'train_cfg.rcnn') -> Optional[dict]:
    """A ``train_cfg.rcnn`` (one stage's in a cascade) checked for unknown
    keys, with :data:`TRAIN_DEFAULTS`."""
    return with_defaults(cfg, TRAIN_KEYS, TRAIN_DEFAULTS, where)


def test_cfg_with_defaults(cfg: Optional[dict]) -> Optional[dict]:
    """``test_cfg.rcnn`` checked for unknown keys, with
    :data:`TEST_DEFAULTS`."""
    return with_defaults(cfg, TEST_KEYS, TEST_DEFAULTS, 'test_cfg.rcnn')


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


def build_train_points(train_cfg: ConfigDict):
    """The training-point strategy of ``train_cfg.point_sampling``: a name
    ('importance', 'grid', 'uniform': :class:`MaskPointSampler` with the
    config's ``num_points``, ``oversample_ratio``,
    ``importance_sample_ratio``, ``point_labels``; 'annotated':
    :class:`AnnotatedPointSampler`) or the config of any strategy registered
    in mmdet's ``TASK_UTILS``."""
    sampling = train_cfg.point_sampling
    if isinstance(sampling, dict):
        return TASK_UTILS.build(sampling)
    if sampling == 'annotated':
        return AnnotatedPointSampler()
    return MaskPointSampler(
        mode=sampling,
        num_points=train_cfg.num_points,
        oversample_ratio=train_cfg.oversample_ratio,
        importance_sample_ratio=train_cfg.importance_sample_ratio,
        point_labels=train_cfg.point_labels)


def build_point_head(point_head: dict, mask_head, num_classes: Optional[int]):
    """Build the point head and complete the mask head config(s).

    ``num_classes`` is stated once, in the box head (as in mmdet's configs);
    the coarse and point heads take it unless they state it. The mask head
    (a dict, or a list of per-stage dicts in a cascade) gets what the point
    head needs of it (Implicit PointRend: how many parameters per box); the
    config's own values win.

    Returns:
        tuple: the point head module and the mask head config(s).
    """
    if num_classes is not None:
        point_head = dict(
            point_head, num_classes=point_head.get('num_classes', num_classes))
    point_head = DET_MODELS.build(point_head)

    def complete(cfg):
        if not isinstance(cfg, dict):
            return cfg
        if num_classes is not None:
            cfg = dict(cfg, num_classes=cfg.get('num_classes', num_classes))
        return dict(point_head.mask_head_args(), **cfg)

    if isinstance(mask_head, (list, tuple)):
        return point_head, [complete(cfg) for cfg in mask_head]
    return point_head, complete(mask_head)


class PointRendMaskBranch:
    """The point head, its loss and uncertainty, and everything PointRend
    does with a coarse prediction: training points and losses, subdivision
    inference and pasting.

    Args:
        point_head (nn.Module): The shared point head (registered on the
            host).
        loss_point (nn.Module): Loss on ``(R, P)`` point logits and ``[0,
            1]`` labels (registered on the host).
        uncertainty (Callable): Point-selection measure on ``(R, 1, ...)``
            class logits, in training and inference.
        test_cfg (ConfigDict, optional): ``test_cfg.rcnn`` with
            :data:`TEST_DEFAULTS`.
    """

    def __init__(self, point_head: nn.Module, loss_point: nn.Module,
                 uncertainty: Callable, test_cfg: Optional[ConfigDict]):
        self.point_head = point_head
        self.loss_point = loss_point
        self.uncertainty = uncertainty
        self.test_cfg = test_cfg

    @classmethod
    def attach(cls, host: nn.Module, point_head: nn.Module, loss_point: dict,
               uncertainty: str) -> 'PointRendMaskBranch':
        """The branch of RoI head ``host``: the point head and the loss
        (built from ``loss_point``) are registered on ``host`` as
        ``point_head`` / ``loss_point`` (state-dict keys
        ``roi_head.point_head.*``); ``uncertainty`` is a registered name
        (mmengine ``FUNCTIONS``)."""
        host.point_head = point_head
        host.loss_point = DET_MODELS.build(loss_point)
        return cls(host.point_head, host.loss_point,
                   build_uncertainty(uncertainty), host.test_cfg)

    # ------------------------------------------------------------------
    # build-time checks
    # ------------------------------------------------------------------
    def check(self,
              extractor: nn.Module,
              mask_head: nn.Module,
              num_classes: int,
              train_cfg: Optional[ConfigDict] = None,
              train_points=None,
              where: str = 'roi_head',
              stage: str = '') -> None:
        """Sizes that must agree between the box head, ``extractor``,
        ``mask_head`` and the point head, checked once at build time.
        ``stage`` names the stage in messages (``'[1]'``)."""
        sizes = {
            f'{where}.bbox_head{stage}.num_classes': num_classes,
            f'{where}.mask_head{stage}.num_classes': mask_head.num_classes,
            f'{where}.point_head.num_classes': self.point_head.num_classes,
        }
        if len(set(sizes.values())) != 1:
            raise ValueError(f'num_classes must agree across heads: {sizes}')
        if not hasattr(extractor, 'point_features'):
            raise TypeError(
                f'{where}.mask_roi_extractor{stage} must sample points (use '
                f'PointRendGridExtractor), got {type(extractor).__name__}')
        fine_channels = extractor.out_channels * len(extractor.featmap_indices)
        for name, head in (('mask_head' + stage, mask_head),
                           ('point_head', self.point_head)):
            if head.in_channels != fine_channels:
                raise ValueError(
                    f'{where}.{name}.in_channels={head.in_channels} but the '
                    f'extractor gives {fine_channels} channels')
        if extractor.out_size != mask_head.roi_feat_size:
            raise ValueError(
                f'{where}.mask_roi_extractor{stage}.out_size='
                f'{extractor.out_size} must equal {where}.mask_head{stage}.'
                f'roi_feat_size={mask_head.roi_feat_size}')
        if train_cfg is None:
            return
        mask_size = train_cfg.get('mask_size')
        if mask_head.uses_mask_targets and mask_size != mask_head.output_size:
            raise ValueError(
                f'train_cfg.rcnn{stage}.mask_size={mask_size} must equal the '
                f'coarse mask size {mask_head.output_size} '
                f'(mask_head.roi_feat_size / 2)')
        if train_points.needs_coarse_mask() and \
                not mask_head.seeds_importance_sampling:
            raise ValueError(
                f'{type(mask_head).__name__} gives no coarse mask to sample '
                'points by uncertainty from: set train_cfg.rcnn'
                f"{stage}.point_sampling='uniform' (as detectron2's Implicit "
                "PointRend) or 'grid'")

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    @staticmethod
    def refine_positive_boxes(bbox_head: nn.Module,
                              sampling_results: List[SamplingResult],
                              bbox_pred: Tensor) -> None:
        """``mask_on_refined_boxes``: replace each image's ``pos_priors`` by
        ``bbox_head``'s decoded predictions (detached).

        ``bbox_pred`` rows follow ``bbox2roi([res.priors])``: per image its
        positives first, then its negatives.
        """
        start = 0
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

    def loss(self, coarse_fn: CoarseFn, mask_head: nn.Module, x: Tuple[Tensor],
             sampling_results: List[SamplingResult],
             batch_gt_instances: InstanceList, train_cfg: ConfigDict,
             train_points) -> dict:
        """Coarse mask loss and point loss on the positive boxes.

        The training-point strategy (``train_points``, from
        ``train_cfg.point_sampling``) chooses the points, their labels and
        weights, and how the coarse head is supervised: on mask targets
        (:class:`MaskPointSampler`) or at annotated points
        (:class:`AnnotatedPointSampler`, PointSup).

        Args:
            coarse_fn (Callable): ``(x, rois) -> (PointFeatures, coarse)``
                of the stage being trained.
            mask_head (nn.Module): That stage's coarse head.
            x (tuple[Tensor]): Neck outputs.
            sampling_results (list[SamplingResult]): Per image.
            batch_gt_instances (list[InstanceData]): Per image, with
                ``masks`` as :class:`BitmapMasks` or :class:`PolygonMasks`,
                or, for point supervision, ``point_coords`` (box-relative)
                and ``point_labels``.
            train_cfg (ConfigDict): That stage's ``train_cfg.rcnn``.
            train_points: That stage's training-point strategy.

        Returns:
            dict: ``mask_preds`` (coarse logits), ``mask_targets`` and
            ``loss_mask`` (a dict with the mask head's losses and
            ``loss_point``).
        """
        pos_rois = bbox2roi([res.pos_priors for res in sampling_results])
        labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        features, coarse = coarse_fn(x, pos_rois)
        points = train_points.sample(coarse, labels, pos_rois,
                                     sampling_results, batch_gt_instances,
                                     self.uncertainty)
        losses, mask_targets = train_points.coarse_loss(
            mask_head, coarse, labels, points, sampling_results,
            batch_gt_instances, train_cfg, self.loss_point)
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
    def refine(self,
               features: PointFeatures,
               coarse: Tensor,
               rois: Tensor,
               labels: Tensor,
               mask_head: nn.Module,
               num_points: int,
               on_step: Optional[StepCallback] = None) -> Tensor:
        """Subdivision inference for the predicted class of every box.

        The point head gives the predictor (:meth:`BasePointHead.predictor`;
        :class:`PointRendPointHead` evaluates its MLP factorised there, only
        the predicted class's row). Boxes go in chunks of
        :meth:`chunk_size`; the masks do not depend on the chunking.

        Args:
            features (PointFeatures): Of ``rois``.
            coarse (Tensor): The coarse prediction of ``rois``.
            rois (Tensor): ``(R, 5)`` boxes of the whole batch.
            labels (Tensor): ``(R,)`` predicted classes.
            mask_head (nn.Module): The coarse head that made ``coarse``
                (says what subdivision starts from).
            num_points (int): Points the subdivision will predict (the
                point head may prepare its features for them).
            on_step (Callable, optional): Called per chunk and step with the
                step's record (see :func:`subdivision_step`) plus
                ``region_offset``, the first box of the chunk.

        Returns:
            Tensor: ``(R, 1, M * s^T, M * s^T)`` logits of the predicted
            class (224x224 with the paper's settings).
        """
        features = self.point_head.prepare_features(features, num_points)
        chunk = self.chunk_size(features, rois.device)
        refined = []
        for start in range(0, rois.shape[0], chunk):
            report = None if on_step is None else (
                lambda record, start=start: on_step(
                    dict(record, region_offset=start)))
            refined.append(
                self.refine_chunk(mask_head, features, coarse, rois, labels,
                                  start, start + chunk, report))
        return torch.cat(refined)

    def refine_chunk(self,
                     mask_head: nn.Module,
                     features: PointFeatures,
                     coarse: Tensor,
                     rois: Tensor,
                     labels: Tensor,
                     start: int = 0,
                     end: Optional[int] = None,
                     on_step: Optional[StepCallback] = None) -> Tensor:
        """Subdivision of the boxes ``start:end`` (all by default): ``(R',
        1, S, S)`` logits of their predicted class, from ``mask_head``'s
        coarse prediction ``coarse``. The ONNX graph calls it once on all
        boxes (their number is dynamic there)."""
        cfg = self.test_cfg
        if end is None:
            end = rois.shape[0]
        predict = self.point_head.predictor(
            features.select(start, end),
            coarse[start:end],
            labels[start:end],
            inference=True)
        initial = mask_head.initial_logits(coarse[start:end],
                                           labels[start:end], predict,
                                           cfg.subdivision_num_points)
        return subdivide(
            initial,
            predict,
            self.uncertainty,
            cfg.subdivision_steps,
            cfg.subdivision_num_points,
            cfg.scale_factor,
            region_steps=self.region_steps(rois[start:end], initial.shape[-1]),
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

    def region_steps(self, rois: Tensor, side: int) -> Optional[Tensor]:
        """Steps per box with ``adaptive_resolution``: a box stops
        subdividing once its mask side ``side * s^t`` reaches the box's
        larger side in test-image pixels (paper Fig. 7, Table 3)."""
        cfg = self.test_cfg
        if not cfg.adaptive_resolution:
            return None
        size = (rois[:, 3:5] - rois[:, 1:3]).amax(1).clamp(min=1)
        steps = torch.ceil(torch.log(size / side) / math.log(cfg.scale_factor))
        return steps.clamp(0, cfg.subdivision_steps).long()

    def num_refined_points(self, mask_head: nn.Module, num_rois: int) -> int:
        """Points the subdivision will predict for ``num_rois`` boxes
        (:func:`plan_subdivision` from ``mask_head``'s coarse mask side)."""
        cfg = self.test_cfg
        side = mask_head.output_size
        plan = plan_subdivision(side, side, cfg.subdivision_steps,
                                cfg.subdivision_num_points, cfg.scale_factor)
        return num_rois * sum(
            min(cells, cfg.subdivision_num_points)
            for cells, _, predict in plan if predict)

    def predict(self, results_list: InstanceList, batch_img_metas: List[dict],
                rescale: bool, refine: Callable[[Tensor, Tensor],
                                                Tensor]) -> InstanceList:
        """Refine and paste the masks of the detected boxes.

        Args:
            results_list (list[InstanceData]): Per image, ``bboxes`` (at the
                test-image scale), ``labels`` and ``scores``.
            batch_img_metas (list[dict]): Per image, with ``ori_shape`` and
                ``scale_factor``.
            rescale (bool): Return boxes and masks at the original image
                scale; otherwise at the test-image scale.
            refine (Callable): ``(rois, labels) -> (R, 1, S, S)`` logits
                (the host's ``refine_masks`` on its features).

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
            probs = refine(rois, labels).sigmoid()
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
