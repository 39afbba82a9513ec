# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""PointRend's inference on box-relative coarse predictions (paper section
3.1), shared by every host that refines instance masks: subdivision in
chunks under a memory budget, the points it will predict, resolution-
adaptive steps, and pasting into the image.

:class:`PointRendMaskBranch` (RoI hosts) and :class:`PointRendDenseRefiner`
(hosts that predict one mask per instance without RoIs) are its two
users; each says what subdivision starts from (:attr:`final_head`: an
object with ``initial_logits`` and ``initial_side``, see
:class:`BaseCoarseHead`).

Shape shorthand: ``R`` boxes of the whole batch, ``S`` the refined side.
"""
import math
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from mmengine.config import ConfigDict
from torch import Tensor

from .utils import (PointFeatures, StepCallback, clip_nonempty, paste_masks,
                    plan_subdivision, subdivide)

#: ``rois (R, 5) -> (PointFeatures of the rois, coarse prediction)``: the
#: host's coarse prediction of one stage (training) or of the host
#: (inference), on features it has bound
CoarseFn = Callable[[Tensor], Tuple[PointFeatures, Tensor]]


class MaskRefinement:
    """Subdivision inference and pasting of box-relative coarse
    predictions. A subclass sets :attr:`point_head`, :attr:`uncertainty`,
    :attr:`test_cfg` (with the keys of
    :data:`~mmpointrend.models.roi_heads.mask_branch_settings.TEST_DEFAULTS`)
    and :attr:`final_head`."""

    point_head = None
    uncertainty: Callable = None
    test_cfg: Optional[ConfigDict] = None

    def point_classes(self, labels: Tensor) -> Tensor:
        """The point head's class of each detection (its own label; a
        class-agnostic head's 0)."""
        return labels

    @property
    def final_head(self):
        """What subdivision starts from: ``initial_logits(coarse, labels,
        predict, num_points)`` and ``initial_side(num_points)``."""
        raise NotImplementedError

    def refine_masks(self,
                     coarse_fn: CoarseFn,
                     rois: Tensor,
                     labels: Tensor,
                     on_step: Optional[StepCallback] = None) -> Tensor:
        """Subdivision inference for the predicted class of every box: the
        one entry of inference, the tools and the ONNX graph.

        The point head gives the predictor (:meth:`BasePointHead.predictor`;
        :class:`PointRendPointHead` evaluates its MLP factorised there, only
        the predicted class's row). Boxes go in chunks of
        :meth:`chunk_size`; the masks do not depend on the chunking. While
        exporting to ONNX the number of boxes is dynamic: one chunk, and
        the point head prepares its features for ``test_cfg.max_per_img``
        boxes.

        Args:
            coarse_fn (Callable): see :data:`CoarseFn`.
            rois (Tensor): ``(R, 5)`` boxes of the whole batch.
            labels (Tensor): ``(R,)`` predicted classes.
            on_step (Callable, optional): Called per chunk and step with the
                step's record (see :func:`subdivision_step`) plus
                ``region_offset``, the first box of the chunk.

        Returns:
            Tensor: ``(R, 1, M * s^T, M * s^T)`` logits of the predicted
            class (224x224 with the paper's settings).
        """
        features, coarse = coarse_fn(rois)
        exporting = torch.onnx.is_in_onnx_export()
        num_rois = self.test_cfg.max_per_img if exporting else len(rois)
        features = self.point_head.prepare_features(
            features, self.num_refined_points(num_rois))
        if exporting:
            return self._refine_chunk(features, coarse, rois, labels, 0,
                                      rois.shape[0], on_step)
        refined = self._refine_chunks(features, coarse, rois, labels, 0,
                                      rois.shape[0], on_step)
        if not refined:
            side = self.final_head.initial_side(
                self.test_cfg.subdivision_num_points)
            side *= self.test_cfg.scale_factor**self.test_cfg.subdivision_steps
            return coarse.new_zeros((0, 1, side, side))
        return torch.cat(refined)

    def refine_masks_grouped(self, coarse_fn: CoarseFn, rois: Tensor,
                             labels: Tensor) -> List[Tuple[Tensor, Tensor]]:
        """Inference for pasting: ``(box indices (n,), (n, 1, S, S)
        logits)`` per group of boxes.

        With ``adaptive_resolution`` the boxes that take the same number of
        steps form a group, refined for those steps only: a small box's
        mask stops at its own resolution instead of being upsampled to the
        largest box's to be pasted (the same masks up to the bilinear
        resampling of pasting). Otherwise one group of every box,
        :meth:`refine_masks`.
        """
        cfg = self.test_cfg
        if not cfg.adaptive_resolution or len(rois) == 0 or \
                torch.onnx.is_in_onnx_export():
            return [(torch.arange(len(rois), device=rois.device),
                     self.refine_masks(coarse_fn, rois, labels))]
        features, coarse = coarse_fn(rois)
        side = self.final_head.initial_side(cfg.subdivision_num_points)
        steps = self.region_steps(rois, side)
        order = torch.argsort(steps, stable=True)
        steps, rois, labels = steps[order], rois[order], labels[order]
        features = self.point_head.prepare_features(
            features.take(order), self.num_refined_points(len(rois)))
        coarse = coarse[order]
        groups, start = [], 0
        for num_steps, count in zip(
                *torch.unique_consecutive(steps, return_counts=True)):
            end = start + int(count)
            refined = self._refine_chunks(
                features,
                coarse,
                rois,
                labels,
                start,
                end,
                num_steps=int(num_steps))
            groups.append((order[start:end], torch.cat(refined)))
            start = end
        return groups

    def _refine_chunks(self,
                       features: PointFeatures,
                       coarse: Tensor,
                       rois: Tensor,
                       labels: Tensor,
                       start: int,
                       end: int,
                       on_step: Optional[StepCallback] = None,
                       num_steps: Optional[int] = None) -> List[Tensor]:
        """:meth:`_refine_chunk` of the boxes ``start:end`` in chunks of
        :meth:`chunk_size`."""
        chunk = self.chunk_size(features, rois.device)
        refined = []
        for first in range(start, end, chunk):
            report = None if on_step is None else (
                lambda record, first=first: on_step(
                    dict(record, region_offset=first)))
            refined.append(
                self._refine_chunk(features, coarse, rois, labels, first,
                                   min(first + chunk, end), report, num_steps))
        return refined

    def _refine_chunk(self,
                      features: PointFeatures,
                      coarse: Tensor,
                      rois: Tensor,
                      labels: Tensor,
                      start: int,
                      end,
                      on_step: Optional[StepCallback],
                      num_steps: Optional[int] = None) -> Tensor:
        """Subdivision of the boxes ``start:end``: ``(R', 1, S, S)``
        logits of their predicted class; ``num_steps`` steps for all of
        them, or by default ``test_cfg``'s (per box with
        ``adaptive_resolution``)."""
        cfg = self.test_cfg
        predict = self.point_head.predictor(
            features.select(start, end),
            coarse[start:end],
            labels[start:end],
            inference=True)
        initial = self.final_head.initial_logits(coarse[start:end],
                                                 labels[start:end], predict,
                                                 cfg.subdivision_num_points)
        region_steps = None
        if num_steps is None:
            num_steps = cfg.subdivision_steps
            region_steps = self.region_steps(rois[start:end],
                                             initial.shape[-1])
        return subdivide(
            initial,
            predict,
            self.uncertainty,
            num_steps,
            cfg.subdivision_num_points,
            cfg.scale_factor,
            region_steps=region_steps,
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

    def num_refined_points(self, num_rois: int) -> int:
        """Points the subdivision will predict for ``num_rois`` boxes
        (:func:`plan_subdivision` from the side the final coarse head's
        prediction starts at)."""
        cfg = self.test_cfg
        side = self.final_head.initial_side(cfg.subdivision_num_points)
        plan = plan_subdivision(side, side, cfg.subdivision_steps,
                                cfg.subdivision_num_points, cfg.scale_factor)
        return num_rois * sum(
            min(step.cells, cfg.subdivision_num_points)
            for step in plan if step.predict)

    def predict(self, coarse_fn: CoarseFn, results_list: InstanceList,
                batch_img_metas: List[dict], rescale: bool) -> InstanceList:
        """Refine and paste the masks of the detected boxes.

        Args:
            coarse_fn (Callable): see :data:`CoarseFn`, of the host.
            results_list (list[InstanceData]): Per image, ``bboxes`` (at the
                test-image scale), ``labels`` and ``scores``.
            batch_img_metas (list[dict]): Per image, with ``ori_shape`` and
                ``scale_factor``.
            rescale (bool): Return boxes and masks at the original image
                scale; otherwise at the test-image scale.

        Returns:
            list[InstanceData]: The same instances with ``masks`` ``(n, H, W)``
            (bool) and, with ``rescale``, boxes in original pixels. With
            ``drop_empty_boxes`` the output boxes are clipped to the image
            and those left empty dropped (detectron2's
            ``detector_postprocess``).
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
                boxes, keep = clip_nonempty(boxes, img_h, img_w)
                results_list[i] = res[keep]
            out_shapes.append((img_h, img_w))
            out_boxes.append(boxes)
        # the mask branch reads the boxes at the test-image scale
        rois = bbox2roi([res.bboxes for res in results_list])
        labels = self.point_classes(
            torch.cat([res.labels for res in results_list]))
        groups = self.refine_masks_grouped(coarse_fn, rois,
                                           labels) if len(rois) else []
        threshold = self.test_cfg.mask_thr_binary
        first = 0
        for i, res in enumerate(results_list):
            res.bboxes = out_boxes[i]
            masks = paste_masks(None, res.bboxes, *out_shapes[i], threshold)
            for indices, logits in groups:
                mine = (indices >= first) & (indices < first + len(res))
                if mine.any():
                    local = indices[mine] - first
                    masks[local] = paste_masks(logits[mine][:, 0].sigmoid(),
                                               res.bboxes[local],
                                               *out_shapes[i], threshold)
            res.masks = masks
            first += len(res)
        return results_list
