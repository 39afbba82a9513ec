import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from mmpointrend.models.utils import (bitmap_point_labels, polygon_edges,
                                      polygon_point_labels)


def _pixel_centres(h, w):
    ys, xs = torch.meshgrid(
        torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing='ij')
    return torch.stack([xs, ys], -1).reshape(1, -1, 2)


def test_bitmap_labels_read_the_pixel_under_the_point():
    masks = np.zeros((2, 5, 6), np.uint8)
    masks[1, 2, 3] = 1
    pts = torch.tensor([[[3.2, 2.9], [3.9, 1.9], [-0.5, 2.0], [6.0, 2.0]]])
    labels = bitmap_point_labels(masks, torch.tensor([1]), pts)
    assert labels.tolist() == [[1.0, 0.0, 0.0, 0.0]]
    # all pixel centres of mask 1 reproduce the bitmap
    labels = bitmap_point_labels(masks, torch.tensor([1, 0]),
                                 _pixel_centres(5, 6).repeat(2, 1, 1))
    assert labels[0].reshape(5, 6).numpy().tolist() == masks[1].tolist()
    assert labels[1].sum() == 0


def test_polygon_labels_match_coco_rasteriser():
    rng = np.random.default_rng(0)
    h, w = 40, 50
    # a star, a concave shape and a two-part instance
    ang = np.linspace(0, 2 * np.pi, 14, endpoint=False)
    rad = np.where(np.arange(14) % 2 == 0, 15, 6)
    star = np.stack([25 + rad * np.cos(ang), 20 + rad * np.sin(ang)], 1)
    concave = np.array(
        [[2, 2], [20, 2], [20, 30], [12, 30], [12, 10], [2, 10]], float)
    part_a = np.array([[30, 30], [45, 30], [45, 38], [30, 38]], float)
    part_b = np.array([[3, 33], [9, 33], [6, 39]], float)
    polys = [[star.ravel()], [concave.ravel()],
             [part_a.ravel(), part_b.ravel()]]
    edges, owner = polygon_edges(polys)
    centres = _pixel_centres(h, w)
    labels = polygon_point_labels(edges, owner, torch.tensor([0, 1, 2]),
                                  centres.repeat(3, 1, 1))
    for i, parts in enumerate(polys):
        rles = mask_utils.frPyObjects([p.tolist() for p in parts], h, w)
        ref = mask_utils.decode(mask_utils.merge(rles)).astype(bool)
        ours = labels[i].reshape(h, w).numpy().astype(bool)
        # pycocotools' scanline rounds edges: allow a thin boundary band
        assert (ours != ref).mean() < 0.04, i
        assert ours.sum() > 0
    del rng


def test_polygon_labels_hole_via_slit_and_empty_cases():
    outer = np.array([[0, 0], [20, 0], [20, 20], [0, 20]], float)
    hole = np.array([[5, 5], [5, 15], [15, 15], [15, 5]], float)
    ring = np.concatenate(
        [outer[:1], hole[[0, 1, 2, 3, 0]], outer[[0, 1, 2, 3]]])
    edges, owner = polygon_edges([[ring.ravel()]])
    pts = torch.tensor([[[10.0, 10.0], [2.0, 10.0], [25.0, 5.0]]])
    assert polygon_point_labels(edges, owner, torch.tensor([0]),
                                pts).tolist() == [[0.0, 1.0, 0.0]]
    # degenerate parts are dropped; no parts -> all zero
    edges, owner = polygon_edges([[np.array([1.0, 1.0, 2.0, 2.0])]])
    assert edges.shape[0] == 0
    out = polygon_point_labels(edges, owner, torch.tensor([0]), pts)
    assert out.tolist() == [[0.0, 0.0, 0.0]]
    out = polygon_point_labels(edges, owner, torch.zeros(0, dtype=torch.long),
                               torch.zeros(0, 3, 2))
    assert out.shape == (0, 3)


@pytest.mark.parametrize('chunk', [1, 3])
def test_polygon_labels_chunking(monkeypatch, chunk):
    import mmpointrend.models.utils.point_labels as pl
    square = np.array([0, 0, 10, 0, 10, 10, 0, 10], float)
    edges, owner = polygon_edges([[square], [square + 5]])
    pts = torch.tensor([[[2.0, 2.0], [12.0, 12.0]]]).repeat(4, 1, 1)
    gt = torch.tensor([0, 1, 1, 0])
    full = polygon_point_labels(edges, owner, gt, pts)
    monkeypatch.setattr(pl, '_MAX_BLOCK', chunk * 2 * edges.shape[1])
    assert torch.equal(polygon_point_labels(edges, owner, gt, pts), full)
    assert full.tolist() == [[1, 0], [0, 1], [0, 1], [1, 0]]
