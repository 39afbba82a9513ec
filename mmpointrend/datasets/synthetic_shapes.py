"""Generated COCO-format instance data: shapes with detailed boundaries.

Used by the demo (``demo/train_demo.py``) and the tests, so that both run
with no download. Every image holds several objects (stars with many spikes,
rings, glyph-like thick strokes, irregular polygons), some touching or
overlapping; annotations are the *visible* parts as COCO polygons (a ring's
hole is encoded with a zero-width slit, so it survives polygon-only
pipelines). Deterministic for a given seed.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.ops import unary_union

CLASSES = ('star', 'ring', 'glyph', 'polygon')


def _star(rng, cx, cy, r):
    spikes = int(rng.integers(5, 12))
    inner = r * rng.uniform(0.35, 0.6)
    angles = np.linspace(0, 2 * math.pi, 2 * spikes, endpoint=False)
    angles += rng.uniform(0, math.pi)
    radii = np.where(np.arange(2 * spikes) % 2 == 0, r, inner)
    radii = radii * rng.uniform(0.85, 1.0, size=len(radii))
    return Polygon(
        np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)],
                 1))


def _ring(rng, cx, cy, r):
    n = 48
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    wobble = 1 + 0.12 * np.sin(angles * int(rng.integers(3, 7)) +
                               rng.uniform(0, 6))
    outer = np.stack(
        [cx + r * wobble * np.cos(angles), cy + r * wobble * np.sin(angles)],
        1)
    ri = r * rng.uniform(0.4, 0.6)
    inner = np.stack([cx + ri * np.cos(angles), cy + ri * np.sin(angles)], 1)
    return Polygon(outer, [inner[::-1]])


def _glyph(rng, cx, cy, r):
    # A thick random stroke: a smooth polyline buffered by a pen width.
    num = int(rng.integers(3, 6))
    pts = np.stack(
        [cx + rng.uniform(-r, r, num), cy + rng.uniform(-r, r, num)], 1)
    # Round caps and joins give curved, letter-like outlines.
    return LineString(pts).buffer(
        r * rng.uniform(0.12, 0.22), cap_style=1, join_style=1)


def _polygon(rng, cx, cy, r):
    n = int(rng.integers(6, 14))
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    radii = r * rng.uniform(0.45, 1.0, n)
    return Polygon(
        np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)],
                 1))


def _cross(rng, cx, cy, r):
    # A plus sign with arms of random width, rotated: long straight edges
    # and sharp inner corners.
    arm = r * rng.uniform(0.18, 0.32)
    bar = np.array([[-r, -arm], [r, -arm], [r, arm], [-r, arm]])
    theta = rng.uniform(0, math.pi / 2)
    rot = np.array([[math.cos(theta), -math.sin(theta)],
                    [math.sin(theta), math.cos(theta)]])
    bars = [Polygon(b @ rot.T + (cx, cy)) for b in (bar, bar[:, ::-1])]
    return unary_union(bars)


def _disc(cx, cy, r):
    angles = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    return Polygon(
        np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1))


def _crescent(rng, cx, cy, r):
    # A disc minus a shifted disc: two arcs meeting in thin horns.
    angle = rng.uniform(0, 2 * math.pi)
    shift = r * rng.uniform(0.35, 0.6)
    return _disc(cx, cy, r).difference(
        _disc(cx + shift * math.cos(angle), cy + shift * math.sin(angle),
              r * rng.uniform(0.8, 0.95)))


#: every shape the generator draws, by name
SHAPES = dict(
    star=_star,
    ring=_ring,
    glyph=_glyph,
    polygon=_polygon,
    cross=_cross,
    crescent=_crescent)


def _to_coco_polygons(geom) -> List[List[float]]:
    """Shapely (multi)polygon -> COCO polygon parts; holes become slits."""
    if geom.is_empty:
        return []
    parts = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    out = []
    for part in parts:
        if not isinstance(part, Polygon) or part.area < 4.0:
            continue
        ring = np.asarray(part.exterior.coords)[:-1]
        for hole in part.interiors:
            hole_pts = np.asarray(hole.coords)[:-1]
            # Bridge from the exterior vertex nearest to the hole and back.
            d = ((ring[:, None] - hole_pts[None])**2).sum(-1)
            i, j = np.unravel_index(np.argmin(d), d.shape)
            hole_loop = np.concatenate([hole_pts[j:], hole_pts[:j + 1]])
            ring = np.concatenate(
                [ring[:i + 1], hole_loop, ring[i:i + 1], ring[i + 1:]])
        if len(ring) >= 3:
            out.append([round(float(v), 2) for v in ring.reshape(-1)])
    return out


def _render(img: np.ndarray, polygons: List[List[float]], color) -> None:
    shift = 4  # sub-pixel vertex precision for cv2
    contours = [
        np.round((np.asarray(p).reshape(-1, 2) - 0.5) * (1 << shift)).astype(
            np.int32) for p in polygons
    ]
    cv2.fillPoly(img, contours, color, lineType=cv2.LINE_8, shift=shift)


def make_image(rng: np.random.Generator,
               size: int,
               max_objects: int,
               shapes: Sequence[str] = CLASSES):
    """One image and its visible-part annotations (``category_id`` is the
    1-based index in ``shapes``)."""
    makers = [SHAPES[name] for name in shapes]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.uniform(40, 200, 3)
    grad = rng.uniform(-50, 50, (2, 3))
    img = base + xx[..., None] * grad[0] + yy[..., None] * grad[1]
    img = img + rng.normal(0, 6, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    objects = []
    for _ in range(int(rng.integers(2, max_objects + 1))):
        label = int(rng.integers(len(makers)))
        r = rng.uniform(0.09, 0.24) * size
        cx, cy = rng.uniform(r * 0.6, size - r * 0.6, 2)
        geom = makers[label](rng, cx, cy, r).buffer(0)
        geom = geom.intersection(
            Polygon([(0, 0), (size, 0), (size, size), (0, size)]))
        if geom.area > 30:
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            objects.append((label, geom, color))
    anns = []
    for k, (label, geom, color) in enumerate(objects):
        later = [g for _, g, _ in objects[k + 1:]]
        visible = geom.difference(unary_union(later)) if later else geom
        polys = _to_coco_polygons(visible)
        if not polys or visible.area < 20:
            continue
        x0, y0, x1, y1 = visible.bounds
        anns.append(
            dict(
                category_id=label + 1,
                segmentation=polys,
                area=float(visible.area),
                bbox=[float(x0),
                      float(y0),
                      float(x1 - x0),
                      float(y1 - y0)],
                iscrowd=0))
    for label, geom, color in objects:
        _render(img, _to_coco_polygons(geom), color)
    return img, anns


def generate_coco_shapes(
        out_dir: str,
        num_train: int = 400,
        num_val: int = 60,
        img_size: int = 160,
        max_objects: int = 6,
        seed: int = 0,
        num_empty: int = 0,
        shapes: Sequence[str] = CLASSES,
        names: Optional[Sequence[str]] = None) -> Dict[str, str]:
    """Write ``train/``, ``val/`` images and COCO json files.

    Args:
        out_dir (str): Output folder (created).
        num_train (int): Training images. Defaults to 400.
        num_val (int): Validation images. Defaults to 60.
        img_size (int): Square image side. Defaults to 160.
        max_objects (int): At most this many objects per image. Defaults
            to 6.
        seed (int): Random seed. Defaults to 0.
        num_empty (int): Extra training images with no object at all.
            Defaults to 0.
        shapes (Sequence[str]): The classes' shapes (keys of
            :data:`SHAPES`). Defaults to :data:`CLASSES`.
        names (Sequence[str], optional): The classes' names in the json
            (one per shape). Defaults to the shapes' names.

    Returns:
        dict: paths of ``train_ann``, ``val_ann``, ``train_img``, ``val_img``.
    """
    unknown = [name for name in shapes if name not in SHAPES]
    if unknown:
        raise KeyError(f'unknown shapes {unknown}; known: {list(SHAPES)}')
    names = list(shapes if names is None else names)
    if len(names) != len(shapes):
        raise ValueError(f'{len(names)} names for {len(shapes)} shapes')
    rng = np.random.default_rng(seed)
    paths = {}
    for split, count in (('train', num_train), ('val', num_val)):
        img_dir = osp.join(out_dir, split)
        os.makedirs(img_dir, exist_ok=True)
        images, annotations = [], []
        extra = num_empty if split == 'train' else 0
        for i in range(count + extra):
            if i < count:
                img, anns = make_image(rng, img_size, max_objects, shapes)
            else:
                img, anns = _empty_image(rng, img_size), []
            name = f'{i:05d}.png'
            cv2.imwrite(osp.join(img_dir, name), img)
            images.append(
                dict(id=i, file_name=name, height=img_size, width=img_size))
            for ann in anns:
                ann.update(id=len(annotations) + 1, image_id=i)
                annotations.append(ann)
        categories = [dict(id=i + 1, name=n) for i, n in enumerate(names)]
        ann_file = osp.join(out_dir, f'{split}.json')
        with open(ann_file, 'w') as f:
            json.dump(
                dict(
                    images=images,
                    annotations=annotations,
                    categories=categories), f)
        paths[f'{split}_ann'] = ann_file
        paths[f'{split}_img'] = img_dir
    return paths


def _empty_image(rng: np.random.Generator, size: int) -> np.ndarray:
    img = rng.normal(rng.uniform(40, 200), 6, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def main(argv: Optional[List[str]] = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--img-size', type=int, default=160)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--shapes',
        nargs='+',
        default=list(CLASSES),
        choices=list(SHAPES),
        help='the classes\' shapes')
    parser.add_argument(
        '--names', nargs='+', help='their category names (default: shapes)')
    args = parser.parse_args(argv)
    print(
        generate_coco_shapes(
            args.out_dir,
            args.num_train,
            args.num_val,
            args.img_size,
            seed=args.seed,
            shapes=args.shapes,
            names=args.names))


if __name__ == '__main__':
    main()
