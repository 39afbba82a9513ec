"""Point annotations for point-supervised training (PointSup) from a COCO
json with masks: N labelled points per instance, drawn uniformly in its box
(1 inside the mask, 0 outside), masks dropped.

    python tools/dataset_converters/coco_to_point_annotations.py \\
        data/coco/annotations/instances_train2017.json \\
        data/coco/annotations/instances_train2017_n10_v1_without_masks.json \\
        --num-points 10 --seed 0

The output has detectron2's PointSup layout (``point_coords`` as integer
pixel indices ``[[x, y], ...]``, ``point_labels``), which
``PointSupCocoDataset`` reads (``configs/point_rend/*_point-sup.py``).
"""
import argparse
import json
import sys

from mmpointrend.datasets import sample_point_annotations


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='COCO instances json with masks')
    parser.add_argument('dst', help='output json with points, no masks')
    parser.add_argument('--num-points', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    try:
        with open(args.src) as f:
            coco = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f'coco_to_point_annotations: cannot read {args.src}: {e}')
    try:
        out = sample_point_annotations(coco, args.num_points, args.seed)
    except (KeyError, ValueError) as e:
        sys.exit(f'coco_to_point_annotations: {args.src}: {e!r}')
    with open(args.dst, 'w') as f:
        json.dump(out, f)
    num = sum('point_coords' in a for a in out['annotations'])
    print(f'{args.dst}: {num} instances with {args.num_points} points each '
          f'(seed {args.seed})')


if __name__ == '__main__':
    main()
