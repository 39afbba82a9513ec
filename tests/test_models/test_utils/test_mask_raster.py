"""Windowed rasters against the full-image raster they replace: pycocotools'
full bitmask, sampled by ``F.grid_sample`` (detectron2's ``point_sample``) and
pooled by mmcv's aligned ``roi_align`` (detectron2's ``crop_and_resize``)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.ops import roi_align
from pycocotools import mask as mask_utils

from mmpointrend.models.utils import (bilinear_point_labels, box_mask_targets,
                                      nearest_point_labels, polygon_window,
                                      rasterise_windows, read_windows)


def random_polygons(rng, num, height, width, margin=10):
    """Per instance 1-2 star-shaped parts, some crossing the image edges."""
    polys = []
    for _ in range(num):
        parts = []
        for _ in range(rng.integers(1, 3)):
            n = rng.integers(3, 14)
            center = rng.uniform(-margin, [width + margin, height + margin])
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radii = rng.uniform(2, 25) * rng.uniform(0.3, 1.0, n)
            parts.append(
                np.stack([
                    center[0] + radii * np.cos(angles),
                    center[1] + radii * np.sin(angles)
                ], 1).ravel())
        polys.append(parts)
    return polys


def full_raster(polys, height, width):
    """detectron2's ``polygons_to_bitmask`` of each instance."""
    return np.stack([
        mask_utils.decode(
            mask_utils.merge(mask_utils.frPyObjects(parts, height, width)))
        for parts in polys
    ])


def test_polygon_window_equals_the_full_raster():
    rng = np.random.default_rng(0)
    for _ in range(400):
        height, width = rng.integers(16, 70, 2)
        polys = random_polygons(rng, 1, height, width)
        full = full_raster(polys, height, width)[0]
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        x1 = rng.integers(x0 + 1, width + 1)
        y1 = rng.integers(y0 + 1, height + 1)
        win = polygon_window(polys[0], x0, y0, x1 - x0, y1 - y0)
        assert win.flags['C_CONTIGUOUS']
        np.testing.assert_array_equal(win, full[y0:y1, x0:x1])


def test_polygon_window_with_no_area():
    tiny = [np.array([1.0, 1.0, 2.0, 2.0])]  # two vertices
    assert polygon_window(tiny, 0, 0, 4, 3).shape == (3, 4)
    assert not polygon_window(tiny, 0, 0, 4, 3).any()
    assert polygon_window([], 0, 0, 0, 5).shape == (5, 0)


def batch(rng, polys, points=50):
    """Two regions per instance (its bounding box jittered by up to 6 px,
    so some cross the image border) with random box-relative points mapped
    into image points."""
    corners = []
    for parts in polys:
        xy = np.concatenate(parts).reshape(-1, 2)
        corners += [np.concatenate([xy.min(0), xy.max(0)])] * 2
    boxes = torch.from_numpy(
        np.array(corners) + rng.uniform(-6, 6, (len(corners), 4))).float()
    gt_inds = torch.arange(len(polys)).repeat_interleave(2)
    rel = torch.rand(len(boxes), points, 2)
    img_points = boxes[:, None, :2] + rel * (
        boxes[:, None, 2:] - boxes[:, None, :2])
    return gt_inds, boxes, img_points


@pytest.mark.parametrize('bitmaps', [False, True])
def test_labels_and_targets_equal_the_full_raster(bitmaps):
    rng = np.random.default_rng(1)
    torch.manual_seed(0)
    height, width = 60, 90
    polys = random_polygons(rng, 4, height, width)
    full = full_raster(polys, height, width)
    masks = full if bitmaps else polys
    gt_inds, boxes, img_points = batch(rng, polys)
    windows = read_windows(gt_inds, 4, img_points, boxes, (height, width))
    raster = rasterise_windows(masks, windows, (height, width))
    # windows stay inside the image and are smaller than it
    assert (windows[:, :2] >= 0).all() and (windows[:, 2] <= width).all()
    assert raster.values.numel() < full.size
    # bilinear labels: detectron2's point_sample of the full bitmask
    full_t = torch.from_numpy(full).float()[:, None]
    scale = torch.tensor([width, height], dtype=torch.float)
    expected = F.grid_sample(
        full_t[gt_inds], (2.0 * (img_points / scale) - 1.0)[:, :, None],
        align_corners=False)[:, 0, :, 0]
    labels = bilinear_point_labels(raster, gt_inds, img_points)
    torch.testing.assert_close(labels, expected, atol=1e-5, rtol=0)
    assert ((labels > 0) & (labels < 1)).any()
    # nearest: the pixel that contains the point
    cols = img_points[..., 0].floor().long()
    rows = img_points[..., 1].floor().long()
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    direct = full_t[gt_inds[:, None], 0,
                    rows.clamp(0, height - 1),
                    cols.clamp(0, width - 1)] * inside
    torch.testing.assert_close(
        nearest_point_labels(raster, gt_inds, img_points), direct)
    # coarse targets: aligned RoIAlign of the full mask in the unclipped box
    rois = torch.cat([gt_inds[:, None].float(), boxes], 1)
    pooled = roi_align(full_t.contiguous(), rois.contiguous(), (7, 7), 1.0, 0,
                       'avg', True)[:, 0]
    targets = box_mask_targets(raster, gt_inds, boxes, 7)
    torch.testing.assert_close(targets, (pooled >= 0.5).float())
    soft = box_mask_targets(raster, gt_inds, boxes, 7, binary=False)
    torch.testing.assert_close(soft, pooled, atol=1e-5, rtol=0)


def test_boxes_outside_the_image_and_no_regions():
    height, width = 20, 30
    full = np.ones((2, height, width), dtype=np.uint8)
    boxes = torch.tensor([[40.0, 5.0, 50.0, 9.0], [-20.0, -9.0, -2.0, -3.0]])
    gt_inds = torch.tensor([0, 1])
    points = boxes[:, None, :2] + 0.5 * (
        boxes[:, None, 2:] - boxes[:, None, :2])
    windows = read_windows(gt_inds, 2, points, boxes, (height, width))
    raster = rasterise_windows(full, windows, (height, width))
    assert (raster.width * raster.height == 0).all()
    assert not bilinear_point_labels(raster, gt_inds, points).any()
    assert not box_mask_targets(raster, gt_inds, boxes, 7).any()
    none = torch.zeros(0, dtype=torch.long)
    windows = read_windows(none, 2, torch.zeros(0, 5, 2), torch.zeros(0, 4),
                           (height, width))
    raster = rasterise_windows(full, windows, (height, width))
    assert bilinear_point_labels(raster, none, torch.zeros(0, 5,
                                                           2)).shape == (0, 5)
    assert box_mask_targets(raster, none, torch.zeros(0, 4),
                            7).shape == (0, 7, 7)


def test_points_outside_their_window_are_an_error():
    full = np.ones((1, 40, 40), dtype=np.uint8)
    boxes = torch.tensor([[2.0, 2.0, 6.0, 6.0]])
    points = torch.tensor([[[3.0, 3.0]]])
    windows = read_windows(torch.tensor([0]), 1, points, boxes, (40, 40))
    raster = rasterise_windows(full, windows, (40, 40))
    with pytest.raises(RuntimeError, match='outside its instance window'):
        bilinear_point_labels(raster, torch.tensor([0]),
                              torch.tensor([[[30.0, 30.0]]]))
