"""Putting box-relative masks into the image: clipping output boxes as
detectron2's ``detector_postprocess`` and pasting each mask only around its
box (MMDetection's ``_do_paste_mask``).

Shape shorthand: ``n`` boxes, ``S`` the mask side, ``H x W`` the image.
"""
from typing import Optional, Tuple

import torch
from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
from torch import Tensor


def clip_nonempty(boxes: Tensor, img_h: int,
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
