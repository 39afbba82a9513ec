"""PointRend on Mask2Former (instance segmentation): mmdet's
:class:`Mask2FormerHead` holding a :class:`PointRendDenseRefiner`; the
detector :class:`PointRendMask2Former` calls :meth:`predict_instances`,
which refines the kept queries' masks instead of upsampling every query to
the image.

The host's coarse prediction of an instance is its query's stride-4 mask
logit map (the last decoder layer's); the fine map is the pixel decoder's
stride-4 mask features, the map those logits are computed from.

Shape shorthand: ``Q`` queries, ``n`` kept instances, ``h x w`` the
stride-4 map, ``H x W`` the (padded) input.
"""
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import Mask2FormerHead
from mmdet.structures.mask import mask2bbox
from mmengine.structures import InstanceData
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from .point_rend_dense_refiner import PointRendDenseRefiner


@DET_MODELS.register_module()
class PointRendMask2FormerHead(Mask2FormerHead):
    """Mask2Former's head with PointRend's point loss.

    Training: mmdet's losses unchanged, plus ``loss_point`` on each query
    matched to a ground-truth instance by the last decoder layer's matching
    (the same Hungarian assignment as its mask loss), at importance-sampled
    points of the instance's box.

    Args:
        point_rend (dict): :class:`PointRendDenseRefiner` arguments; the
            fine map is the pixel decoder's mask features (stride 4,
            ``fine_channels`` = its ``out_channels``).
        **kwargs: :class:`Mask2FormerHead` arguments.
    """

    def __init__(self, *args, point_rend: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mask_refiner = PointRendDenseRefiner(
            **dict(dict(fine_stride=4), **point_rend))
        self.mask_refiner.attach(self)
        self._matches = None

    def init_weights(self) -> None:
        """mmdet's initialisation, which does not recurse into added
        modules, then the point head's own."""
        super().init_weights()
        if getattr(self, 'mask_refiner', None) is not None:
            self.point_head.init_weights()

    @contextmanager
    def reading_mask_features(self):
        """Inside the block, the pixel decoder's stride-4 mask features of
        the batch are the refiner's fine map."""
        handle = self.pixel_decoder.register_forward_hook(
            lambda module, args, out: self.mask_refiner.hold(out[0]))
        try:
            yield
        finally:
            handle.remove()
            self.mask_refiner.hold(None)

    def loss(self, x, batch_data_samples) -> dict:
        """mmdet's losses and ``loss_point``."""
        self._matches = []
        try:
            with self.reading_mask_features():
                return super().loss(x, batch_data_samples)
        finally:
            self._matches = None

    def get_targets(self, *args, **kwargs):
        """mmdet's matching, kept per decoder layer during :meth:`loss`."""
        targets = super().get_targets(*args, **kwargs)
        if self._matches is not None:
            self._matches.append(targets)
        return targets

    def loss_by_feat(self, all_cls_scores, all_mask_preds, batch_gt_instances,
                     batch_img_metas) -> dict:
        losses = super().loss_by_feat(all_cls_scores, all_mask_preds,
                                      batch_gt_instances, batch_img_metas)
        # the last decoder layer's matching: its queries, their instances
        _, _, mask_targets, mask_weights, _ = self._matches[-1]
        mask_preds = all_mask_preds[-1]
        logits = [preds[w > 0] for preds, w in zip(mask_preds, mask_weights)]
        boxes = [mask2bbox(m.bool()).float() for m in mask_targets]
        stride = self.mask_refiner.fine_stride
        input_hw = (mask_preds.shape[-2] * stride,
                    mask_preds.shape[-1] * stride)
        losses['loss_point'] = self.mask_refiner.loss(logits, boxes,
                                                      mask_targets, input_hw)
        return losses

    def predict_instances(self, mask_cls: Tensor, mask_pred: Tensor,
                          image: int, meta: dict, fusion_cfg: dict,
                          num_things: int, rescale: bool) -> InstanceData:
        """One image's instances as mmdet's ``instance_postprocess`` picks
        them (the top ``max_per_image`` query-class pairs, things only),
        with masks refined from the ``(Q, h, w)`` stride-4 logits.

        Differences from mmdet, for memory: the mask score (mean
        probability inside the mask) and the box each mask is refined in
        come from the stride-4 logits (the box grown by one cell); the
        output boxes are the refined masks' boxes, as mmdet's.
        """
        num_classes = mask_cls.shape[-1] - 1
        scores = F.softmax(mask_cls, dim=-1)[:, :-1]
        top_scores, top = scores.flatten().topk(
            fusion_cfg.get('max_per_image', 100), sorted=False)
        labels = top % num_classes
        logits = mask_pred[top // num_classes]
        things = labels < num_things
        top_scores, labels, logits = top_scores[things], labels[things], \
            logits[things]
        positive = logits > 0
        mask_scores = (logits.sigmoid() * positive).flatten(1).sum(1) / (
            positive.flatten(1).sum(1) + 1e-6)
        stride = self.mask_refiner.fine_stride
        img_h, img_w = meta['img_shape'][:2]
        cells = mask2bbox(positive).float()
        grown = torch.stack([(cells[:, 0] - 1) * stride,
                             (cells[:, 1] - 1) * stride,
                             (cells[:, 2] + 1) * stride,
                             (cells[:, 3] + 1) * stride], 1)
        empty = ~positive.flatten(1).any(1)
        grown[:, 0::2] = grown[:, 0::2].clamp(0, img_w)
        grown[:, 1::2] = grown[:, 1::2].clamp(0, img_h)
        grown[empty] = 0
        out = InstanceData(
            bboxes=grown, labels=labels, scores=top_scores * mask_scores)
        input_hw = (mask_pred.shape[-2] * stride, mask_pred.shape[-1] * stride)
        coarse_fn = self.mask_refiner.coarse_fn(logits, image, input_hw)
        out = self.mask_refiner.predict(coarse_fn, [out], [meta], rescale)[0]
        out.bboxes = mask2bbox(out.masks)
        return out
