"""Generated semantic-segmentation data: scenes with thin structures.

Street-scene-like images (sky, buildings, road, vegetation blobs) crossed by
thin structures that a stride-4 prediction blurs away: poles, wires and
text-like strokes. Written in the layout MMSegmentation's ``BaseSegDataset``
reads (``img_dir/{train,val}/*.png``, ``ann_dir/{train,val}/*.png`` with
class indices, 255 = ignore). Deterministic for a given seed.
"""
import os
import os.path as osp
from typing import Dict, Optional

import cv2
import numpy as np

CLASSES = ('sky', 'building', 'road', 'vegetation', 'pole', 'wire', 'sign',
           'text')
PALETTE = [[70, 130, 180], [70, 70, 70], [128, 64, 128], [107, 142, 35],
           [153, 153, 153], [250, 170, 30], [220, 220, 0], [255, 255, 255]]
_GLYPHS = 'ABEHKMNRSTWXZ23458'


def make_scene(rng: np.random.Generator, height: int, width: int):
    """One image (BGR uint8) and its label map (uint8 class indices)."""
    label = np.zeros((height, width), np.uint8)  # sky
    horizon = int(height * rng.uniform(0.45, 0.6))
    label[horizon:] = 2  # road
    # buildings: a skyline of rectangles touching the horizon
    x = 0
    while x < width:
        w = int(rng.integers(width // 10, width // 4))
        top = int(rng.integers(height // 8, horizon - 4))
        label[top:horizon, x:x + w] = 1
        x += w + int(rng.integers(0, width // 12))
    # vegetation blobs with ragged outlines
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.integers(0, width), rng.integers(horizon - 20, height)
        ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        rad = rng.uniform(8, 24) * (1 + 0.3 * rng.standard_normal(40))
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
        cv2.fillPoly(label, [pts.astype(np.int32)], 3)
    # signs with text strokes on them
    for _ in range(int(rng.integers(1, 3))):
        w, h = int(rng.integers(30, 60)), int(rng.integers(14, 22))
        x0 = int(rng.integers(0, width - w))
        y0 = int(rng.integers(4, max(5, horizon - h)))
        label[y0:y0 + h, x0:x0 + w] = 6
        text = ''.join(rng.choice(list(_GLYPHS), int(rng.integers(2, 5))))
        cv2.putText(label, text, (x0 + 2, y0 + h - 4),
                    cv2.FONT_HERSHEY_SIMPLEX, h / 40, 7, 1, cv2.LINE_8)
    # poles (2-4 px wide) and wires (1-2 px) hanging between them
    tops = []
    for _ in range(int(rng.integers(2, 5))):
        px = int(rng.integers(4, width - 4))
        top = int(rng.integers(height // 10, horizon - 10))
        pw = int(rng.integers(2, 5))
        label[top:min(height, horizon + 20), px:px + pw] = 4
        tops.append((px, top))
    tops.sort()
    for (x0, y0), (x1, y1) in zip(tops, tops[1:]):
        xs = np.arange(x0, x1 + 1)
        sag = rng.uniform(3, 12) * np.sin(np.pi * (xs - x0) / max(1, x1 - x0))
        ys = (y0 + (y1 - y0) * (xs - x0) / max(1, x1 - x0) + sag)
        pts = np.stack([xs, ys], 1).astype(np.int32)
        cv2.polylines(label, [pts], False, 5, int(rng.integers(1, 3)))

    palette = np.array(PALETTE, np.float32)
    jitter = rng.uniform(0.8, 1.2, (len(CLASSES), 3)).astype(np.float32)
    img = palette[label] * jitter[label]
    img += rng.normal(0, 8, img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)[..., ::-1]  # RGB -> BGR
    # an ignored margin, as the rectification border of real data
    label[:, :2] = 255
    return np.ascontiguousarray(img), label


def generate_semantic_scenes(out_dir: str,
                             num_train: int = 300,
                             num_val: int = 40,
                             height: int = 128,
                             width: int = 256,
                             seed: int = 0) -> Dict[str, str]:
    """Write a generated scene dataset in MMSegmentation's layout.

    Returns:
        dict: ``data_root``, ``img_dir`` and ``ann_dir`` (relative).
    """
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('val', num_val)):
        img_dir = osp.join(out_dir, 'img_dir', split)
        ann_dir = osp.join(out_dir, 'ann_dir', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(count):
            img, label = make_scene(rng, height, width)
            cv2.imwrite(osp.join(img_dir, f'{i:05d}.png'), img)
            cv2.imwrite(osp.join(ann_dir, f'{i:05d}.png'), label)
    return dict(data_root=out_dir, img_dir='img_dir', ann_dir='ann_dir')


def main(argv: Optional[list] = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=40)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    print(
        generate_semantic_scenes(
            args.out_dir, args.num_train, args.num_val, seed=args.seed))


if __name__ == '__main__':
    main()
