"""AP* of saved predictions, given the LVIS val (v0.5 or v1) and COCO
val2017 files.

    python tools/test.py CONFIG CKPT --out preds.pkl      # any COCO model
    python tools/analysis_tools/eval_ap_star.py preds.pkl \\
        --lvis data/lvis_v1/annotations/lvis_v1_val.json \\
        --coco data/coco/annotations/instances_val2017.json

(or ``--ann-file`` a file made by ``tools/dataset_converters/cocofy_lvis.py``).
Scores the masks against LVIS's annotations of the 80 COCO categories with
the lvis API (``LVISAPStarMetric``); the labels must index COCO's 80 classes
in mmdet's order.
"""
import argparse
import sys

from mmdet.datasets import CocoDataset
from mmengine.fileio import load

from mmpointrend.evaluation import LVISAPStarMetric
from mmpointrend.evaluation.ap_star import APStarDataError


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('preds', help='tools/test.py --out file (.pkl)')
    parser.add_argument('--lvis', help='LVIS v0.5 or v1 val json')
    parser.add_argument('--coco', help='COCO val2017 json')
    parser.add_argument('--ann-file', help='a cocofied LVIS json instead')
    parser.add_argument(
        '--metric', nargs='+', default=['segm'], choices=['segm', 'bbox'])
    args = parser.parse_args(argv)
    try:
        metric = LVISAPStarMetric(
            ann_file=args.ann_file,
            lvis_ann_file=args.lvis,
            coco_ann_file=args.coco,
            metric=args.metric)
    except ValueError as e:
        sys.exit(f'eval_ap_star: {e}')
    metric.dataset_meta = dict(classes=CocoDataset.METAINFO['classes'])
    preds = load(args.preds)
    if not isinstance(preds, list) or (preds
                                       and 'pred_instances' not in preds[0]):
        sys.exit(f'{args.preds} is not a tools/test.py --out file of an '
                 'instance segmentation model')
    metric.process({}, preds)
    try:
        results = metric.evaluate(len(preds))
    except APStarDataError as e:
        sys.exit(f'eval_ap_star: {e}')
    for key, value in results.items():
        print(f'{key}: {value:.4f}')


if __name__ == '__main__':
    main()
