"""Draw PointRend's subdivision for an image (paper Fig. 1, 4, 9).

    python tools/analysis_tools/vis_subdivision.py CONFIG CKPT IMAGE \\
        --out-dir vis_subdivision [--max-objects 4] [--score-thr 0.3]

Instance configs: one PNG per detected object (the highest-scoring
``--max-objects``): the box crop, the coarse 7x7 prediction, each step's
upsampled prediction with the points chosen at that step (red), and the
final mask. Semantic configs: one PNG with the coarse label map, each step's
map with its points, and the final map.
"""
import argparse
import sys

from mmengine.config import Config

import mmpointrend  # noqa: F401
from mmpointrend.apis import init_model, is_semantic_config
from mmpointrend.visualization import (instance_subdivision_pictures,
                                       semantic_subdivision_picture)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--out-dir', default='vis_subdivision')
    parser.add_argument('--max-objects', type=int, default=4)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    try:
        model = init_model(cfg, args.checkpoint, device=args.device)
        if is_semantic_config(cfg):
            paths = [
                semantic_subdivision_picture(model, args.image, args.out_dir)
            ]
        else:
            paths = instance_subdivision_pictures(model, args.image,
                                                  args.out_dir,
                                                  args.max_objects,
                                                  args.score_thr)
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f'vis_subdivision: {e}')
    if not paths:
        print(f'no detection scored >= {args.score_thr}; nothing drawn')
    for p in paths:
        print(p)


if __name__ == '__main__':
    main()
