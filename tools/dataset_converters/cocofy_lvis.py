"""Build AP*'s ground truth: COCO categories on LVIS annotations.

    python tools/dataset_converters/cocofy_lvis.py \\
        data/lvis_v1/annotations/lvis_v1_val.json \\
        data/coco/annotations/instances_val2017.json \\
        data/lvis_v1/annotations/lvis_v1_val_cocofied.json

Keeps the LVIS (v0.5 or v1) val annotations of the 80 COCO categories
(matched by WordNet synset, LVIS's published correspondence) on the COCO val2017 images,
with category ids, ``neg_category_ids`` and ``not_exhaustive_category_ids``
mapped to COCO's ids. ``LVISAPStarMetric(ann_file=...)`` then scores a
COCO-trained model against it (``configs/point_rend/*_ap-star.py``).
"""
import argparse
import sys

from mmpointrend.evaluation.ap_star import APStarDataError, cocofy_lvis_files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('lvis', help='LVIS v0.5 or v1 val annotation json')
    parser.add_argument('coco', help='COCO val2017 annotation json')
    parser.add_argument('out', help='output json')
    args = parser.parse_args(argv)
    try:
        out = cocofy_lvis_files(args.lvis, args.coco, args.out)
    except APStarDataError as e:
        sys.exit(f'cocofy_lvis: {e}')
    print(f"{args.out}: {len(out['images'])} images, "
          f"{len(out['annotations'])} annotations, "
          f"{len(out['categories'])} COCO categories")


if __name__ == '__main__':
    main()
