"""Ground-truth labels at points, read straight from bitmaps or polygons.

Shape shorthand: ``R`` regions, ``P`` points per region, ``G`` ground-truth
instances of one image, ``T`` polygon parts, ``E`` edges of a part (padded).
Points are image points: ``(x, y)`` in continuous pixels, pixel ``(i, j)``
covering ``[j, j + 1) x [i, i + 1)``.

Only the points' labels are computed: no full-image mask tensor is built for
either format (the bitmaps are indexed in place, polygons are tested with a
crossing-number rule).
"""
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

# Upper bound on the elements of one (parts x points x edges) block of the
# polygon test; bounds its memory to ~100 MB whatever the polygons are.
_MAX_BLOCK = 1 << 23


def bitmap_point_labels(bitmaps: np.ndarray, gt_inds: Tensor,
                        img_points: Tensor) -> Tensor:
    """Labels of the pixels that contain the points.

    Args:
        bitmaps (np.ndarray): ``(G, H, W)`` binary masks (any integer or bool
            dtype), indexed in place.
        gt_inds (Tensor): ``(R,)`` ground-truth index of each region.
        img_points (Tensor): ``(R, P, 2)`` image points.

    Returns:
        Tensor: ``(R, P)`` float labels in ``{0, 1}``; points outside the
        image are 0.
    """
    num_regions, num_points = img_points.shape[:2]
    if num_regions == 0 or len(bitmaps) == 0:
        return img_points.new_zeros((num_regions, num_points))
    height, width = bitmaps.shape[-2:]
    pts = img_points.detach().cpu()
    xs = torch.floor(pts[..., 0]).long()
    ys = torch.floor(pts[..., 1]).long()
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    xs = xs.clamp(0, width - 1).numpy()
    ys = ys.clamp(0, height - 1).numpy()
    inds = gt_inds.detach().cpu().long().numpy()[:, None]
    labels = torch.from_numpy(np.asarray(bitmaps[inds, ys, xs]) > 0)
    labels = labels & inside
    return labels.to(device=img_points.device, dtype=img_points.dtype)


def polygon_edges(polygons: Sequence[Sequence[np.ndarray]],
                  device: torch.device = None):
    """Pack polygons into a padded edge tensor.

    Args:
        polygons (Sequence[Sequence[np.ndarray]]): for each instance, its
            parts, each a flat array ``[x0, y0, x1, y1, ...]`` (COCO layout).
        device (torch.device, optional): device of the outputs.

    Returns:
        tuple[Tensor, Tensor]: edges ``(T, E, 4)`` as ``(x0, y0, x1, y1)``,
        padded with degenerate edges that never cross; and ``(T,)`` the
        instance index of each part.
    """
    parts, owners = [], []
    for inst, inst_parts in enumerate(polygons):
        for part in inst_parts:
            verts = np.asarray(part, dtype=np.float32).reshape(-1, 2)
            if len(verts) < 3:
                continue  # no area
            parts.append(np.concatenate([verts, np.roll(verts, -1, 0)], 1))
            owners.append(inst)
    if not parts:
        return (torch.zeros((0, 1, 4), device=device),
                torch.zeros((0, ), dtype=torch.long, device=device))
    max_edges = max(len(p) for p in parts)
    edges = np.zeros((len(parts), max_edges, 4), dtype=np.float32)
    for i, part in enumerate(parts):
        edges[i, :len(part)] = part
    return (torch.from_numpy(edges).to(device),
            torch.tensor(owners, dtype=torch.long, device=device))


def polygon_point_labels(edges: Tensor, part_owner: Tensor, gt_inds: Tensor,
                         img_points: Tensor) -> Tensor:
    """Whether each point lies inside its region's ground-truth polygon.

    A point is inside an instance when it is inside any of its parts (parts
    are united, as COCO's rasteriser does); inside a part by the even-odd
    crossing rule.

    Args:
        edges (Tensor): ``(T, E, 4)`` from :func:`polygon_edges`.
        part_owner (Tensor): ``(T,)`` instance index of each part.
        gt_inds (Tensor): ``(R,)`` ground-truth index of each region.
        img_points (Tensor): ``(R, P, 2)`` image points.

    Returns:
        Tensor: ``(R, P)`` float labels in ``{0, 1}``.
    """
    num_regions, num_points = img_points.shape[:2]
    hits = torch.zeros((num_regions, num_points),
                       dtype=torch.int32,
                       device=img_points.device)
    if num_regions == 0 or len(part_owner) == 0:
        return hits.to(img_points.dtype)
    # (region, part) pairs where the part belongs to the region's instance.
    region_idx, part_idx = torch.nonzero(
        gt_inds.long()[:, None] == part_owner[None, :], as_tuple=True)
    num_edges = edges.shape[1]
    chunk = max(1, _MAX_BLOCK // max(1, num_points * num_edges))
    for start in range(0, len(region_idx), chunk):
        reg = region_idx[start:start + chunk]
        e = edges[part_idx[start:start + chunk]][:, None]  # (Q, 1, E, 4)
        px = img_points[reg][..., 0, None]  # (Q, P, 1)
        py = img_points[reg][..., 1, None]
        x0, y0, x1, y1 = e.unbind(-1)  # each (Q, 1, E)
        straddles = (y0 > py) != (y1 > py)
        dy = torch.where(straddles, y1 - y0, torch.ones_like(y0))
        x_cross = x0 + (py - y0) * (x1 - x0) / dy
        crossings = (straddles & (px < x_cross)).sum(-1)
        inside = (crossings % 2).to(torch.int32)  # (Q, P)
        hits.index_put_((reg, ), inside, accumulate=True)
    return (hits > 0).to(img_points.dtype)
