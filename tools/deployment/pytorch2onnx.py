"""Export PointRend inference to ONNX and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG CKPT IMAGE --out model.onnx

Instance configs export the mask graph ``image, boxes, labels -> mask
probabilities`` (backbone, neck, coarse head, subdivision; the boxes come
from the detector); semantic configs export the whole segmentor ``image ->
logits``. Shapes are fixed: the input size is IMAGE's after the config's test
pipeline (padded to a multiple of 32), the boxes are the top ``--num-boxes``
detections on IMAGE, the points per step are the config's. The check runs
both graphs on IMAGE and fails (exit 1) unless the masks / labels agree on
at least ``1 - --tolerance`` of the pixels. See mmpointrend/deploy.
"""
import argparse
import json
import sys

from mmengine.config import Config

import mmpointrend  # noqa: F401
from mmpointrend.deploy import export_instance, export_semantic


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image', help='export size and check input')
    parser.add_argument('--out', default='pointrend.onnx')
    parser.add_argument(
        '--num-boxes',
        type=int,
        default=10,
        help='instance: boxes of the exported graph')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument(
        '--tolerance',
        type=float,
        default=1e-4,
        help='largest fraction of differing pixels')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if cfg.get('default_scope', 'mmdet') == 'mmseg':
        report = export_semantic(args.config, args.checkpoint, args.image,
                                 args.out)
        worst = max(report['label_mismatch'],
                    report.get('inference_mismatch', 0.0))
    else:
        from mmdet.utils import register_all_modules
        register_all_modules()
        try:
            report = export_instance(args.config, args.checkpoint, args.image,
                                     args.out, args.num_boxes, args.score_thr)
        except ValueError as e:
            sys.exit(f'pytorch2onnx: {e}')
        worst = report['mask_mismatch']
    print(f'{args.out}: ' + json.dumps(report))
    if worst > args.tolerance:
        print(
            f'onnxruntime and PyTorch disagree on {100 * worst:.3f}% of '
            'the pixels',
            file=sys.stderr)
        return 1
    print('onnxruntime output matches PyTorch')
    return 0


if __name__ == '__main__':
    sys.exit(main())
