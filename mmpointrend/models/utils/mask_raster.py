# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Ground-truth masks as the authors train on them, read in windows.

Shape shorthand: ``G`` ground-truth instances of one image, ``R`` regions
(positive boxes) of that image, ``P`` points per region, ``M`` coarse mask
side, ``H x W`` the image (the masks' size). Points are image points
``(x, y)`` in continuous pixels, pixel ``(i, j)`` covering ``[j, j + 1) x
[i, i + 1)``.

detectron2 trains PointRend on the full-image raster of each instance
(polygons through pycocotools, after resizing and flipping):

- point labels are bilinear samples of the raster at the points
  (``grid_sample``, ``align_corners=False``, zero outside the image), so
  they are fractional within a pixel of the boundary;
- coarse targets are RoIAlign (aligned, adaptive sampling) of the raster
  inside the box, which is not clipped to the image, thresholded at 0.5.

Here each instance is rasterised only inside the window that its boxes and
points read (:func:`read_windows`), with pixels equal to the full raster's:
a bitmap is cut, a polygon goes through pycocotools on its own integer
vertex grid shifted by the window's origin (:func:`polygon_window`). The
windows of one image are stored flat, one buffer, so the labels of all
points are one gather. No full-image mask tensor is built.
"""
from typing import NamedTuple, Sequence, Union

import numpy as np
import torch
from torch import Tensor

# pycocotools rasterises on a grid 5 times finer than the pixels
_COCO_SCALE = 5.0
# pixels of margin around what the points and boxes read
_MARGIN = 1


class MaskWindows(NamedTuple):
    """The rasters of one image's instances, each inside its window.

    ``values`` is every window's pixels, row-major, one after the other
    (uint8, ``{0, 1}``: a quarter of float's memory); window ``g`` starts
    at ``offset[g]`` and covers image columns ``[x0[g], x0[g] + width[g])``
    and rows ``[y0[g], y0[g] + height[g])``. ``image_hw`` is the masks'
    size: outside it the raster is 0.
    """

    values: Tensor
    offset: Tensor
    x0: Tensor
    y0: Tensor
    width: Tensor
    height: Tensor
    image_hw: tuple


def read_windows(gt_inds: Tensor, num_gt: int, img_points: Tensor,
                 boxes: Tensor, image_hw: Sequence[int]) -> np.ndarray:
    """The pixels each instance's raster is read at.

    Bilinear point labels read the pixels around ``(x - 0.5, y - 0.5)`` and
    aligned RoIAlign the pixels around the box shifted by half a pixel; the
    window of an instance is the union of those of its regions, one pixel
    wider on each side, clipped to the image.

    Args:
        gt_inds (Tensor): ``(R,)`` the instance of each region.
        num_gt (int): ``G``.
        img_points (Tensor): ``(R, P, 2)`` image points.
        boxes (Tensor): ``(R, 4)`` boxes ``(x1, y1, x2, y2)``.
        image_hw (Sequence[int]): ``(H, W)``.

    Returns:
        np.ndarray: ``(G, 4)`` int64 windows ``(x0, y0, x1, y1)``, end
        exclusive; instances no region reads get an empty one.
    """
    height, width = int(image_hw[0]), int(image_hw[1])
    windows = np.zeros((num_gt, 4), dtype=np.int64)
    if gt_inds.numel() == 0 or num_gt == 0:
        return windows
    with torch.no_grad():
        coords = torch.cat(
            [img_points.detach(),
             boxes.detach().view(-1, 2, 2)], 1)
        coords = coords.float() - 0.5
        lo = torch.floor(coords.amin(1)) - _MARGIN  # (R, 2)
        hi = torch.floor(coords.amax(1)) + 1 + _MARGIN
        idx = gt_inds.long()[:, None].expand(-1, 2)
        big = torch.finfo(torch.float32).max
        lo_g = lo.new_full((num_gt, 2), big).scatter_reduce(
            0, idx, lo, 'amin', include_self=True)
        hi_g = hi.new_full((num_gt, 2), -big).scatter_reduce(
            0, idx, hi, 'amax', include_self=True)
        limit = lo.new_tensor([width, height])
        lo_g = torch.minimum(lo_g.clamp(min=0), limit)
        hi_g = torch.minimum(torch.maximum(hi_g + 1, lo_g), limit)
    windows[:, :2] = lo_g.cpu().numpy().astype(np.int64)
    windows[:, 2:] = np.maximum(hi_g.cpu().numpy().astype(np.int64),
                                windows[:, :2])
    return windows


def polygon_window(parts: Sequence[np.ndarray], x0: int, y0: int, width: int,
                   height: int) -> np.ndarray:
    """pycocotools' raster of a polygon instance (parts united, as
    detectron2's ``polygons_to_bitmask``), inside one window only.

    pycocotools puts the vertices on a 5x finer integer grid with C's
    truncation, ``X = (int)(5 x + 0.5)``, which is not shift-invariant for
    negative values. The vertices are therefore put on that grid in image
    coordinates, shifted by ``5 * (x0, y0)`` there, and handed over as
    coordinates that truncate back to exactly those integers; the window's
    pixels then equal the full-image raster's.

    Args:
        parts (Sequence[np.ndarray]): Flat ``[x0, y0, x1, y1, ...]`` image
            coordinates of each part; parts under 3 vertices have no area.
        x0 (int): First column of the window (>= 0).
        y0 (int): First row of the window (>= 0).
        width (int): Window width.
        height (int): Window height.

    Returns:
        np.ndarray: ``(height, width)`` uint8, C-contiguous.
    """
    from pycocotools import mask as mask_utils
    shifted = []
    for part in parts:
        xy = np.asarray(part, dtype=np.float64).reshape(-1, 2)
        if len(xy) < 3:
            continue
        grid = np.trunc(_COCO_SCALE * xy + 0.5)  # C's (int) cast
        grid -= _COCO_SCALE * np.array([x0, y0], dtype=np.float64)
        # X >= 0: X / 5 truncates to X; X < 0: (X - 1) / 5 does
        xy = np.where(grid >= 0, grid, grid - 1) / _COCO_SCALE
        shifted.append(xy.ravel())
    if not shifted or width <= 0 or height <= 0:
        return np.zeros((max(height, 0), max(width, 0)), dtype=np.uint8)
    rles = mask_utils.frPyObjects(shifted, height, width)
    return np.ascontiguousarray(mask_utils.decode(mask_utils.merge(rles)))


def rasterise_windows(masks: Union[np.ndarray, Sequence[Sequence[np.ndarray]]],
                      windows: np.ndarray,
                      image_hw: Sequence[int],
                      device: torch.device = None) -> MaskWindows:
    """Each instance's raster inside its window.

    Args:
        masks (np.ndarray | Sequence): ``(G, H, W)`` bitmaps (cut in place)
            or, per instance, its polygon parts (flat image coordinates,
            COCO layout; rasterised with pycocotools).
        windows (np.ndarray): ``(G, 4)`` from :func:`read_windows`.
        image_hw (Sequence[int]): ``(H, W)`` of the masks.
        device (torch.device, optional): Device of the result.

    Returns:
        MaskWindows: The windows' pixels and layout.
    """
    pixels = []
    for g, (x0, y0, x1, y1) in enumerate(windows.tolist()):
        if x1 <= x0 or y1 <= y0:
            pixels.append(np.zeros(0, dtype=np.uint8))
        elif isinstance(masks, np.ndarray):
            pixels.append(np.asarray(masks[g, y0:y1, x0:x1]).ravel() != 0)
        else:
            pixels.append(
                polygon_window(masks[g], x0, y0, x1 - x0, y1 - y0).ravel())
    extent = (windows[:, 2:] - windows[:, :2]).clip(min=0)
    sizes = extent[:, 0] * extent[:, 1]
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    values = np.concatenate(pixels).astype(np.uint8) if pixels else \
        np.zeros(0, dtype=np.uint8)

    def to_tensor(array):
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)

    return MaskWindows(
        to_tensor(values), to_tensor(offset), to_tensor(windows[:, 0]),
        to_tensor(windows[:, 1]), to_tensor(windows[:, 2] - windows[:, 0]),
        to_tensor(windows[:, 3] - windows[:, 1]),
        (int(image_hw[0]), int(image_hw[1])))


def _pixels(raster: MaskWindows, gt_inds: Tensor, cols: Tensor,
            rows: Tensor) -> Tensor:
    """Raster values at integer ``(rows, cols)`` (``(R, ...)``) of each
    region's instance; 0 outside the image."""
    height, width = raster.image_hw
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    g = gt_inds.long().view(-1, *[1] * (cols.dim() - 1))
    local_x = cols - raster.x0[g]
    local_y = rows - raster.y0[g]
    win_w, win_h = raster.width[g], raster.height[g]
    in_window = (local_x >= 0) & (local_y >= 0)
    in_window &= (local_x < win_w) & (local_y < win_h)
    if not bool((in_window | ~inside).all()):
        raise RuntimeError('a point reads outside its instance window; '
                           'compute the windows from the same points')
    if raster.values.numel() == 0:
        return cols.new_zeros(cols.shape, dtype=torch.float32)
    flat = torch.where(inside, raster.offset[g] + local_y * win_w + local_x,
                       torch.zeros_like(cols))
    return raster.values[flat].float() * inside


def bilinear_point_labels(raster: MaskWindows, gt_inds: Tensor,
                          img_points: Tensor) -> Tensor:
    """Bilinear samples of each region's instance raster at its points:
    detectron2's ``point_sample(bitmask, points / (W, H),
    align_corners=False)``, with the same float steps.

    Args:
        raster (MaskWindows): From :func:`rasterise_windows`.
        gt_inds (Tensor): ``(R,)`` the instance of each region.
        img_points (Tensor): ``(R, P, 2)`` image points.

    Returns:
        Tensor: ``(R, P)`` labels in ``[0, 1]``.
    """
    height, width = raster.image_hw
    pts = img_points.detach().float()
    size = pts.new_tensor([width, height])
    # grid_sample's unnormalisation of 2 * (p / size) - 1
    grid = 2.0 * (pts / size) - 1.0
    src = ((grid + 1) * size - 1) / 2
    x, y = src.unbind(-1)
    x0, y0 = torch.floor(x), torch.floor(y)
    x1, y1 = x0 + 1, y0 + 1
    # the 2x2 neighbourhood of each point, read in one gather: (R, P, 4)
    cols = torch.stack([x0, x1, x0, x1], -1).long()
    rows = torch.stack([y0, y0, y1, y1], -1).long()
    weights = torch.stack([(x1 - x) * (y1 - y), (x - x0) * (y1 - y),
                           (x1 - x) * (y - y0), (x - x0) * (y - y0)], -1)
    labels = (_pixels(raster, gt_inds, cols, rows) * weights).sum(-1)
    return labels.to(img_points.dtype)


def nearest_point_labels(raster: MaskWindows, gt_inds: Tensor,
                         img_points: Tensor) -> Tensor:
    """The raster pixel that contains each point, ``(R, P)`` in ``{0,
    1}``."""
    pts = img_points.detach()
    cols = torch.floor(pts[..., 0]).long()
    rows = torch.floor(pts[..., 1]).long()
    return _pixels(raster, gt_inds, cols, rows).to(img_points.dtype)


def box_mask_targets(raster: MaskWindows,
                     gt_inds: Tensor,
                     boxes: Tensor,
                     size: int,
                     binary: bool = True) -> Tensor:
    """detectron2's ``BitMasks.crop_and_resize``: RoIAlign (aligned,
    adaptive sampling) of each region's instance raster inside its box, not
    clipped to the image; ``>= 0.5`` when ``binary``.

    Each instance's window is pooled in place of the full raster: its
    edges are image edges or lie beyond every sample the boxes read.

    Args:
        raster (MaskWindows): From :func:`rasterise_windows` with windows
            covering ``boxes``.
        gt_inds (Tensor): ``(R,)`` the instance of each region.
        boxes (Tensor): ``(R, 4)`` image boxes.
        size (int): ``M``.
        binary (bool): Threshold at 0.5. Defaults to True.

    Returns:
        Tensor: ``(R, M, M)`` float targets.
    """
    from mmcv.ops import roi_align
    targets = boxes.new_zeros((len(boxes), size, size), dtype=torch.float32)
    boxes = boxes.detach().float()
    inds = gt_inds.long()
    # the windows' layout read to the host once, not per instance
    widths, heights, starts, lefts, tops = (
        t.tolist() for t in (raster.width, raster.height, raster.offset,
                             raster.x0, raster.y0))
    for g in torch.unique(inds).tolist():
        w, h, start = widths[g], heights[g], starts[g]
        if w == 0 or h == 0:
            continue  # the boxes lie outside the image: all zero
        rows = torch.nonzero(inds == g)[:, 0]
        window = raster.values[start:start + w * h].view(1, 1, h, w).float()
        origin = boxes.new_tensor([lefts[g], tops[g]] * 2)
        rois = torch.cat([boxes.new_zeros(len(rows), 1), boxes[rows] - origin],
                         1)
        # mmcv's CPU kernels read their inputs as contiguous (mmcv #2203)
        pooled = roi_align(window.contiguous(), rois.contiguous(),
                           (size, size), 1.0, 0, 'avg', True)[:, 0]
        targets[rows] = pooled
    if binary:
        targets = (targets >= 0.5).float()
    return targets
