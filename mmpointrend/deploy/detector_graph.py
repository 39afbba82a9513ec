"""The whole PointRend detector as one ONNX graph (standard operators only).

``image (1, 3, H, W) -> boxes (n, 4), scores (n,), labels (n,), masks (n, S,
S)`` with ``H``, ``W`` and ``n`` dynamic. Inside: the data preprocessor's
channel swap, normalisation and padding to ``pad_size_divisor``; backbone and
neck; the RPN (anchors from the feature sizes, per-level top ``nms_pre`` by
sort, box decoding clipped to the image, ``min_bbox_size``, NMS per level,
top ``max_per_img``); multi-level ``RoiAlign`` for the box head; its softmax,
class-specific box decoding, ``score_thr`` and NMS per class, top
``max_per_img``; the coarse mask head and the subdivision of the predicted
class. Masks are probabilities on the ``S x S`` grid of each box (224x224 with
the paper's settings), not pasted: pasting into the image is ``n x H x W``
per image (100 x 800 x 1216 floats = 390 MB at the COCO test size) and most
users want the box-frame masks or paste at the original resolution anyway;
:func:`paste_mask_numpy` in ``tools/deployment/onnx_infer.py`` is the
20-line paste step (mmdet's, with numpy only).

The graph follows the model's own inference step by step; where PyTorch calls
mmcv kernels, the graph has ONNX's:

* ``NonMaxSuppression`` with the levels (RPN) or classes (box head) as its
  class dimension: exact per-level / per-class NMS (mmdet's ``batched_nms``
  shifts boxes by ``class * (max coordinate + 1)`` instead, which is the same
  up to float rounding of the shifted coordinates);
* ``RoiAlign`` with ``coordinate_transformation_mode='half_pixel'`` for
  mmcv's ``aligned=True`` (opset 16 or later);
* ``TopK`` (sort) for the per-level top-k, ``NonZero`` / ``ScatterND`` for
  the level of each RoI.

The number of subdivision steps and points per step are the config's
(``adaptive_resolution`` is refused: it gives each box its own steps).
"""
from typing import Tuple

import numpy as np
import torch
from mmdet.structures.bbox import bbox2roi
from torch import Tensor, nn

from .graph_parts import Normalise, pointrend_roi_head

_NEG_INF = float('-inf')
OUTPUT_NAMES = ['boxes', 'scores', 'labels', 'masks']
# every finite score is above it; masked (-inf) scores are not
_SCORE_FLOOR = -3.0e38


class _NMSPerClass(torch.autograd.Function):
    """``boxes (1, N, 4)``, ``scores (1, K, N)`` -> ``(k, 3)`` int64 rows
    ``(0, class, box)``: greedy NMS of each class's boxes whose score is
    above -3e38 (masked scores are -inf), at most ``max_per_class`` each,
    ordered by class then descending score. Eager: mmcv's ``nms``; in ONNX:
    ``NonMaxSuppression``."""

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, iou_thr: float,
                max_per_class: int) -> Tensor:
        from mmcv.ops import nms
        rows = []
        for cls in range(scores.shape[1]):
            score = scores[0, cls]
            idx = torch.nonzero(score > _SCORE_FLOOR)[:, 0]
            if idx.numel() == 0:
                continue
            _, keep = nms(boxes[0, idx], score[idx], iou_thr)
            keep = idx[keep[:max_per_class]]
            rows.append(
                torch.stack(
                    [torch.zeros_like(keep),
                     torch.full_like(keep, cls), keep], 1))
        if not rows:
            return boxes.new_zeros((0, 3), dtype=torch.long)
        return torch.cat(rows)

    @staticmethod
    def symbolic(g, boxes, scores, iou_thr, max_per_class):
        max_out = g.op(
            'Constant',
            value_t=torch.tensor([max_per_class], dtype=torch.long))
        iou = g.op('Constant', value_t=torch.tensor([iou_thr]))
        floor = g.op('Constant', value_t=torch.tensor([_SCORE_FLOOR]))
        return g.op('NonMaxSuppression', boxes, scores, max_out, iou, floor)


def nms_per_class(boxes: Tensor, scores: Tensor, classes: Tensor,
                  num_classes: int, iou_thr: float,
                  max_per_class: int) -> Tensor:
    """Indices of the boxes kept by NMS within each class, ordered by
    descending score (ties in an unspecified order).

    Args:
        boxes (Tensor): ``(N, 4)``.
        scores (Tensor): ``(N,)`` ranking values (any finite floats).
        classes (Tensor): ``(N,)`` int64 in ``[0, num_classes)``.
    """
    ids = torch.arange(num_classes, device=classes.device)
    masked = torch.where(classes[None, :] == ids[:, None], scores[None, :],
                         torch.full_like(scores[None, :], _NEG_INF))
    kept = _NMSPerClass.apply(boxes[None], masked[None], float(iou_thr),
                              int(max_per_class))[:, 2]
    order = torch.sort(scores[kept], descending=True)[1]
    return kept[order]


class _RoIAlign(torch.autograd.Function):
    """mmcv's ``roi_align`` (``avg``); in ONNX ``RoiAlign`` with
    ``half_pixel`` for ``aligned=True``."""

    @staticmethod
    def forward(ctx, feat: Tensor, boxes: Tensor, batch: Tensor, out_size: int,
                scale: float, sampling: int, aligned: bool) -> Tensor:
        from mmcv.ops import roi_align
        rois = torch.cat([batch.to(boxes.dtype)[:, None], boxes], 1)
        return roi_align(feat, rois, (out_size, out_size), scale, sampling,
                         'avg', aligned)

    @staticmethod
    def symbolic(g, feat, boxes, batch, out_size, scale, sampling, aligned):
        mode = 'half_pixel' if aligned else 'output_half_pixel'
        return g.op(
            'RoiAlign',
            feat,
            boxes,
            batch,
            coordinate_transformation_mode_s=mode,
            mode_s='avg',
            output_height_i=out_size,
            output_width_i=out_size,
            sampling_ratio_i=max(0, sampling),
            spatial_scale_f=scale)


def _append_dummy_box(boxes: Tensor) -> Tensor:
    """``(n, 4)`` boxes plus one ``(0, 0, 1, 1)``: the graphs keep a branch
    non-empty with it (onnxruntime cannot infer reshapes of empty tensors)
    and drop what it produces."""
    return torch.cat([boxes, boxes.new_tensor([[0., 0., 1., 1.]])])


def decode_deltas(priors: Tensor, deltas: Tensor, coder,
                  img_hw: Tensor) -> Tensor:
    """mmdet's ``delta2bbox`` (same float operations) with the clip bounds
    ``img_hw`` ``(2,)`` a tensor. ``priors (N, 4)``, ``deltas (N, 4)``."""
    means = deltas.new_tensor(coder.means).view(1, -1)
    stds = deltas.new_tensor(coder.stds).view(1, -1)
    denorm = deltas * stds + means
    dxy, dwh = denorm[:, :2], denorm[:, 2:]
    pxy = (priors[:, :2] + priors[:, 2:]) * 0.5
    pwh = priors[:, 2:] - priors[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = float(np.abs(np.log(16 / 1000)))
    dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], -1)
    if coder.clip_border:
        upper = img_hw.flip(0).repeat(2).to(boxes.dtype)[None]  # w h w h
        boxes = torch.minimum(boxes.clamp(min=0), upper)
    return boxes


class DetectorGraph(nn.Module):
    """What the whole-detector ONNX graph runs; also runs in PyTorch.

    Args:
        detector: an mmdet two-stage detector (RPN, ``SingleRoIExtractor``
            box branch) whose ``roi_head`` is
            :class:`PointRendInstanceRoIHead`.

    Input: the test pipeline's image (BGR as mmcv loads it, resized, not
    padded) as float ``(1, 3, H, W)``. Outputs, in that image's pixels:
    ``boxes (n, 4)``, ``scores (n,)``, ``labels (n,)`` int64 and ``masks
    (n, S, S)`` probabilities of the predicted class inside each box.
    """

    def __init__(self, detector):
        super().__init__()
        from mmdet.models.dense_heads import RPNHead
        from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
        from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

        from mmpointrend.models.dense_heads import LogitRankedRPNHead
        self.detector = detector
        self.normalise = Normalise(detector.data_preprocessor)
        self.pad_divisor = int(
            getattr(detector.data_preprocessor, 'pad_size_divisor', 1))
        roi_head = pointrend_roi_head(detector)
        rpn = getattr(detector, 'rpn_head', None)
        if type(rpn) not in (RPNHead, LogitRankedRPNHead) or \
                not rpn.use_sigmoid_cls:
            raise TypeError('the whole-detector graph follows mmdet RPNHead '
                            '(sigmoid) or LogitRankedRPNHead, got '
                            f'{type(rpn).__name__}')
        for coder in (rpn.bbox_coder, roi_head.bbox_head.bbox_coder):
            if type(coder) is not DeltaXYWHBBoxCoder or coder.add_ctr_clamp:
                raise TypeError('the graph decodes boxes as mmdet\'s '
                                'DeltaXYWHBBoxCoder without add_ctr_clamp, '
                                f'got {type(coder).__name__}')
        self.rank_by_logit = isinstance(rpn, LogitRankedRPNHead)
        extractor = roi_head.bbox_roi_extractor
        if type(extractor) is not SingleRoIExtractor:
            raise TypeError('the box head must read a SingleRoIExtractor, '
                            f'got {type(extractor).__name__}')
        for layer in extractor.roi_layers:
            if type(layer).__name__ != 'RoIAlign' or \
                    layer.pool_mode != 'avg':
                raise TypeError('the box RoI layers must be mmcv RoIAlign '
                                '(avg)')
        bbox_head = roi_head.bbox_head
        if bbox_head.custom_cls_channels or \
                getattr(bbox_head.loss_cls, 'use_sigmoid', False):
            raise TypeError('the graph applies softmax to the box head '
                            'scores (mmdet BBoxHead, softmax classifier)')
        cfg = roi_head.test_cfg
        # a buffer (an initializer of the graph), so that export can trace
        # with every candidate kept and then set the config's value: a
        # trace through zero detections would not record the mask branch
        self.register_buffer('score_thr', torch.tensor(float(cfg.score_thr)))
        for key, nms in (('rpn', detector.test_cfg.rpn.nms), ('rcnn',
                                                              cfg.nms)):
            if nms.get('type', 'nms') != 'nms':
                raise ValueError(f"test_cfg.{key}.nms.type='{nms['type']}':"
                                 ' the graph has plain NMS only')

    # ------------------------------------------------------------------
    def forward(self, img: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        height, width = img.shape[-2:]
        # a tensor, so that the exported graph reads it from the input
        img_hw = torch._shape_as_tensor(img)[2:]
        x = self.normalise(img)
        if self.pad_divisor > 1:
            d = self.pad_divisor
            x = nn.functional.pad(x, (0, (d - width % d) % d, 0,
                                      (d - height % d) % d))
        feats = self.detector.extract_feat(x)
        proposals = self.proposals(feats, img_hw)
        boxes, scores, labels = self.detections(feats, proposals, img_hw)
        masks = self.masks(feats, boxes, labels)
        return boxes, scores, labels, masks

    # ------------------------------------------------------------------
    def _anchors(self, level: int, feat: Tensor) -> Tensor:
        """``(H_l * W_l * A, 4)`` anchors in mmdet's order (row-major
        locations, then the level's base anchors)."""
        gen = self.detector.rpn_head.prior_generator
        stride_w, stride_h = gen.strides[level]
        base = gen.base_anchors[level].to(feat)
        shift_y = torch.arange(feat.shape[-2]).to(feat) * stride_h
        shift_x = torch.arange(feat.shape[-1]).to(feat) * stride_w
        yy, xx = torch.meshgrid(shift_y, shift_x, indexing='ij')
        xx, yy = xx.reshape(-1), yy.reshape(-1)
        shifts = torch.stack([xx, yy, xx, yy], 1)
        return (shifts[:, None, :] + base[None]).reshape(-1, 4)

    def proposals(self, feats: Tuple[Tensor], img_hw: Tensor) -> Tensor:
        """``(N, 4)`` RPN proposals, at most ``test_cfg.rpn.max_per_img``."""
        rpn = self.detector.rpn_head
        cfg = self.detector.test_cfg.rpn
        cls_scores, bbox_preds = rpn(feats)
        nms_pre = cfg.get('nms_pre', -1)
        ranks, deltas, priors, levels = [], [], [], []
        for level, (score, pred) in enumerate(zip(cls_scores, bbox_preds)):
            logit = score[0].permute(1, 2, 0).reshape(-1)
            rank = logit if self.rank_by_logit else logit.sigmoid()
            pred = pred[0].permute(1, 2, 0).reshape(-1, 4)
            anchors = self._anchors(level, score)
            if nms_pre > 0:  # sort + slice: a level may have fewer
                rank, order = torch.sort(rank, descending=True)
                rank, order = rank[:nms_pre], order[:nms_pre]
                pred, anchors = pred[order], anchors[order]
            ranks.append(rank)
            deltas.append(pred)
            priors.append(anchors)
            levels.append(torch.full_like(rank, level, dtype=torch.long))
        rank, levels = torch.cat(ranks), torch.cat(levels)
        boxes = decode_deltas(
            torch.cat(priors), torch.cat(deltas), rpn.bbox_coder, img_hw)
        valid = torch.isfinite(boxes).all(1) & torch.isfinite(rank)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            wh = boxes[:, 2:] - boxes[:, :2]
            valid = valid & (wh[:, 0] > min_size) & (wh[:, 1] > min_size)
        keep = torch.nonzero(valid)[:, 0]
        boxes, rank, levels = boxes[keep], rank[keep], levels[keep]
        keep = nms_per_class(boxes, rank, levels, len(cls_scores),
                             cfg.nms.iou_threshold, cfg.max_per_img)
        return boxes[keep[:cfg.max_per_img]]

    def _box_features(self, feats: Tuple[Tensor], boxes: Tensor) -> Tensor:
        """mmdet's ``SingleRoIExtractor``: each box read by ``RoiAlign``
        from the level of its scale."""
        extractor = self.detector.roi_head.bbox_roi_extractor
        layers = extractor.roi_layers
        num_levels = len(layers)
        target = extractor.map_roi_levels(bbox2roi([boxes]), num_levels)
        size = layers[0].output_size[0]
        out = boxes.new_zeros(
            (boxes.shape[0], extractor.out_channels, size, size))
        batch = torch.zeros_like(target)
        for level, layer in enumerate(layers):
            inds = torch.nonzero(target == level)[:, 0]
            level_feats = _RoIAlign.apply(feats[level], boxes[inds],
                                          batch[inds], size,
                                          float(layer.spatial_scale),
                                          int(layer.sampling_ratio),
                                          bool(layer.aligned))
            out = out.index_put((inds, ), level_feats)
        return out

    def detections(self, feats: Tuple[Tensor], proposals: Tensor,
                   img_hw: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """mmdet's box head inference and ``multiclass_nms``.

        A dummy proposal is appended with scores of -inf (never detected),
        so that zero proposals (a model whose RPN keeps no finite box) give
        zero detections instead of empty reshapes.
        """
        roi_head = self.detector.roi_head
        head = roi_head.bbox_head
        cfg = roi_head.test_cfg
        num = proposals.shape[0]
        proposals = _append_dummy_box(proposals)
        cls_score, bbox_pred = head(self._box_features(feats, proposals))
        scores = cls_score.softmax(-1)[:, :-1]
        real = torch.arange(proposals.shape[0], device=scores.device) < num
        scores = torch.where(real[:, None], scores,
                             torch.full_like(scores, _NEG_INF))
        num_classes = scores.shape[1]
        priors = proposals
        if not head.reg_class_agnostic:  # one box per class
            priors = priors[:, None].expand(-1, num_classes, 4).reshape(-1, 4)
        boxes = decode_deltas(priors, bbox_pred.reshape(-1, 4),
                              head.bbox_coder, img_hw)
        boxes = boxes.reshape(proposals.shape[0], -1, 4)
        boxes = boxes.expand(-1, num_classes, 4).reshape(-1, 4)
        labels = torch.arange(num_classes, device=scores.device)
        labels = labels[None].expand_as(scores).reshape(-1)
        scores = scores.reshape(-1)
        valid = torch.nonzero(scores > self.score_thr)[:, 0]
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = nms_per_class(boxes, scores, labels, num_classes,
                             cfg.nms.iou_threshold, cfg.max_per_img)
        keep = keep[:cfg.max_per_img]
        return boxes[keep], scores[keep], labels[keep]

    def masks(self, feats: Tuple[Tensor], boxes: Tensor,
              labels: Tensor) -> Tensor:
        """``(n, S, S)`` refined mask probabilities of the predicted class
        (:meth:`PointRendMaskBranch.refine_masks`: while exporting, all
        boxes in one chunk).

        One dummy box is appended and its mask dropped, so that the branch
        never runs on zero boxes (onnxruntime cannot infer reshapes of empty
        tensors); ``n = 0`` then gives ``(0, S, S)``.
        """
        num = boxes.shape[0]
        rois = bbox2roi([_append_dummy_box(boxes)])
        labels = torch.cat([labels, labels.new_zeros(1)])
        logits = self.detector.roi_head.refine_masks(feats, rois, labels)
        return logits[:num, 0].sigmoid()
