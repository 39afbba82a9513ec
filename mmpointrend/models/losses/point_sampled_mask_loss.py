# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""A mask loss at points: PointRend's biased point sampling (paper section
3.2) applied to the loss only.

A one-stage host compares its low-resolution mask logits with ground truth
either densely at a reduced stride (RTMDet-Ins: the logits upsampled to
stride 4, the masks subsampled to it) or at full resolution (every logit
upsampled to the image: memory grows with instances x pixels). This loss
reads both where it matters: ``N`` points per instance chosen by importance
sampling on the logits (``k N`` random candidates, the ``beta N`` most
uncertain kept, the rest random), the logits interpolated there exactly as
the host upsamples them (bilinear, ``align_corners=False``) and the
full-resolution masks sampled bilinearly (detectron2's point labels).

Shape shorthand: ``n`` instances, ``h x w`` the logits, ``H x W`` the masks,
``P`` points per instance.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from mmpointrend.registry import DET_MODELS
from ..uncertainty import build_uncertainty
from ..utils import point_sample, sample_training_points


@DET_MODELS.register_module()
class PointSampledMaskLoss(nn.Module):
    """``loss`` of ``(n, h, w)`` logits against ``(n, H, W)`` masks at
    importance-sampled points of the whole map.

    Args:
        loss (dict): The loss applied to ``(n, P)`` point logits and labels
            (mmdet's ``DiceLoss``, ``CrossEntropyLoss`` with sigmoid, ...).
            Defaults to RTMDet-Ins's Dice loss (weight 2).
        num_points (int): ``P``. Defaults to 112 * 112 (Mask2Former's).
        oversample_ratio (float): ``k``. Defaults to 3.
        importance_sample_ratio (float): ``beta``. Defaults to 0.75.
        uncertainty (str): Registered uncertainty measure. Defaults to
            'binary_uncertainty'.
    """

    def __init__(self,
                 loss: dict = dict(
                     type='DiceLoss',
                     loss_weight=2.0,
                     eps=5e-6,
                     reduction='mean'),
                 num_points: int = 112 * 112,
                 oversample_ratio: float = 3,
                 importance_sample_ratio: float = 0.75,
                 uncertainty: str = 'binary_uncertainty',
                 **unknown) -> None:
        super().__init__()
        if unknown:
            raise TypeError(
                f'PointSampledMaskLoss got {sorted(unknown)}: the keys of '
                "the host's own loss_mask it was merged with? Replace it: "
                "loss_mask=dict(_delete_=True, type='PointSampledMaskLoss', "
                "loss=dict(type='DiceLoss', loss_weight=2.0, ...))")
        self.loss = DET_MODELS.build(loss)
        self.num_points = num_points
        self.oversample_ratio = oversample_ratio
        self.importance_sample_ratio = importance_sample_ratio
        self.uncertainty = build_uncertainty(uncertainty)

    def forward(self,
                logits: Tensor,
                gt_masks: Tensor,
                avg_factor: Optional[float] = None) -> Tensor:
        """The loss at the points.

        Args:
            logits (Tensor): ``(n, h, w)`` mask logits covering the input.
            gt_masks (Tensor): ``(n, H, W)`` masks (any dtype) covering the
                same input at full resolution.
            avg_factor (float, optional): Passed to the loss.

        Returns:
            Tensor: The loss; zero (with a graph) for ``n == 0``.
        """
        if logits.shape[0] != gt_masks.shape[0]:
            raise ValueError(f'{logits.shape[0]} mask logits but '
                             f'{gt_masks.shape[0]} ground-truth masks')
        if logits.shape[0] == 0:
            return logits.sum() * 0
        with torch.no_grad():
            points = sample_training_points(logits[:, None].detach(),
                                            self.uncertainty, self.num_points,
                                            self.oversample_ratio,
                                            self.importance_sample_ratio)
            labels = point_sample(gt_masks[:, None].to(logits.dtype),
                                  points)[:, 0]
        # 'border': as the host's F.interpolate reads its map's edges
        point_logits = point_sample(
            logits[:, None], points, padding_mode='border')[:, 0]
        return self.loss(point_logits, labels, avg_factor=avg_factor)
