"""Boundary IoU (Cheng, Girshick, Dollar, Berg, Kirillov, CVPR 2021).

The boundary band of a mask M at distance d is the set of pixels of M within
distance d of its contour: ``M_d = M - erode(M, d)``, the erosion being d
iterations of a 3x3 kernel (chessboard distance). Boundary IoU of a
prediction P and a ground truth G is ``|P_d & G_d| / |P_d | G_d|``; d is a
fraction of the image diagonal (2% by default, the paper's choice for COCO),
at least one pixel.

For instances the frame of the image counts as contour (the mask is padded
with zeros, as the reference implementation does). For semantic segmentation
it does not (``image_border=False``): a class touching the frame, sky or road,
has no boundary there.
"""
from typing import Optional

import cv2
import numpy as np


def _square(d: int) -> np.ndarray:
    # one pass with a (2d+1)^2 square = d passes with 3x3 (chessboard
    # distance d); OpenCV erodes with a rectangle in O(1) per pixel
    return cv2.getStructuringElement(cv2.MORPH_RECT, (2 * d + 1, 2 * d + 1))


def boundary_dilation(height: int,
                      width: int,
                      ratio: float = 0.02,
                      pixels: Optional[int] = None) -> int:
    """The band width d in pixels: ``pixels`` if given, else
    ``round(ratio * diagonal)``, at least 1."""
    if pixels is not None:
        if pixels < 1:
            raise ValueError(
                f'boundary width must be >= 1 pixel, got {pixels}')
        return int(pixels)
    if not 0 < ratio < 1:
        raise ValueError(f'dilation ratio must be in (0, 1), got {ratio}')
    return max(1, int(round(ratio * np.hypot(height, width))))


def boundary_band(mask: np.ndarray,
                  dilation: int,
                  image_border: bool = True) -> np.ndarray:
    """Pixels of ``mask`` within ``dilation`` pixels of its contour.

    Args:
        mask (np.ndarray): (H, W) bool or 0/1 array.
        dilation (int): band width d >= 1.
        image_border (bool): whether the image frame counts as contour.

    Returns:
        np.ndarray: (H, W) bool.
    """
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    if mask.ndim != 2:
        raise ValueError(f'expected an (H, W) mask, got {mask.shape}')
    out = np.zeros(mask.shape, bool)
    ys, xs = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    if len(ys) == 0:
        return out
    # erode only the mask's bounding box (outside it the band is empty)
    y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
    crop = mask[y0:y1, x0:x1]
    d = int(dilation)
    # the frame of the crop: outside the mask if the crop is inside the
    # image; at the image frame, outside (instances) or mask (semantic)
    top, left = (0 if (y0 == 0 and not image_border) else 1, 0 if
                 (x0 == 0 and not image_border) else 1)
    bottom = 0 if (y1 == mask.shape[0] and not image_border) else 1
    right = 0 if (x1 == mask.shape[1] and not image_border) else 1
    padded = cv2.copyMakeBorder(
        crop, top, bottom, left, right, cv2.BORDER_CONSTANT, value=0)
    padded = cv2.copyMakeBorder(padded, 1 - top, 1 - bottom, 1 - left,
                                1 - right, cv2.BORDER_REPLICATE)
    eroded = cv2.erode(padded, _square(d), borderType=cv2.BORDER_REPLICATE)
    out[y0:y1, x0:x1] = (crop > 0) & (eroded[1:-1, 1:-1] == 0)
    return out


def boundary_iou(pred: np.ndarray,
                 gt: np.ndarray,
                 dilation: int,
                 image_border: bool = True) -> float:
    """Boundary IoU of two masks; 1.0 when both are empty."""
    p = boundary_band(pred, dilation, image_border)
    g = boundary_band(gt, dilation, image_border)
    union = np.logical_or(p, g).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(p, g).sum() / union)


def contour(mask: np.ndarray, image_border: bool = False) -> np.ndarray:
    """The one-pixel inner contour of a mask (the band at d = 1)."""
    return boundary_band(mask, 1, image_border)


def within_distance(points: np.ndarray, target: np.ndarray,
                    dilation: int) -> np.ndarray:
    """Which ``points`` (bool map) lie within chessboard distance
    ``dilation`` of any ``target`` pixel (bool map)."""
    near = cv2.dilate(target.astype(np.uint8), _square(int(dilation))) > 0
    return points & near
