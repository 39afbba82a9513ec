"""Export a PointRend model to one ONNX file and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT IMAGE [IMAGE ...] \\
        --out model.onnx

CHECKPOINT is an mmpointrend / OpenMMLab ``.pth`` or a detectron2 model-zoo
``.pkl`` (converted on the fly and loaded strictly, as
``tools/model_converters/detectron2_to_mmpointrend.py --config`` does).

Instance configs export the whole detector: ``image -> boxes, scores, labels,
masks`` (RPN, box head, NMS, RoiAlign and the subdivision in the graph;
masks are 224x224 probabilities in each box, pasted by
``mmpointrend/deploy/ort_infer.py``). Semantic configs export ``image ->
logits``. Height and width are dynamic; the graph is traced on the first
IMAGE. ``--mask-graph`` exports the older instance graph ``image, boxes,
labels -> mask probabilities`` (fixed size) instead.

The check runs every IMAGE as a user would with the exported file alone
(``ort_infer.py``: cv2 load, the config's resize, the graph, paste at the
original size) and as the PyTorch model, and exits 1 unless they agree:
instances matched (same class, box IoU > 0.9) for at least ``--min-match``
of the detections, each matched mask IoU >= ``--min-mask-iou`` and score
within ``--max-score-diff``;
semantic labels equal on at least ``1 - --tolerance`` of the pixels.
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import mmpointrend  # noqa: F401
from mmpointrend.apis import init_model, is_semantic_config


def load_model(config: str, checkpoint: str, cfg_options=None):
    """The config's model with CHECKPOINT's weights; a detectron2 ``.pkl``
    is converted and loaded strictly."""
    if not checkpoint.endswith('.pkl'):
        return init_model(config, checkpoint, cfg_options=cfg_options)
    from mmpointrend.converters import (ConversionCheckError,
                                        Detectron2FormatError,
                                        detectron2_to_mmpointrend,
                                        load_detectron2_checkpoint,
                                        verify_against_config)
    try:
        state, report = detectron2_to_mmpointrend(
            load_detectron2_checkpoint(checkpoint)['model'])
        checked = verify_against_config(state, config, report)
    except (Detectron2FormatError, ConversionCheckError) as e:
        raise SystemExit(f'pytorch2onnx: {checkpoint}: {e}')
    print(f'{checkpoint}: detectron2 {report["layout"]} layout; ' +
          '; '.join(checked['notes']))
    model = init_model(config, cfg_options=cfg_options)
    model.load_state_dict(state, strict=True)
    model.dataset_meta = checked['dataset_meta']
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='.pth, or a detectron2 zoo .pkl')
    parser.add_argument(
        'images',
        nargs='+',
        help='the first is traced; all are checked (give images of '
        'different sizes to check the dynamic size)')
    parser.add_argument('--out', default='pointrend.onnx')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--min-match', type=float, default=0.99)
    parser.add_argument('--min-mask-iou', type=float, default=0.99)
    parser.add_argument(
        '--max-score-diff',
        type=float,
        default=1e-3,
        help='largest score difference of a matched detection')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=1e-3,
        help='semantic / --mask-graph: largest fraction of differing pixels')
    parser.add_argument(
        '--mask-graph',
        action='store_true',
        help='instance: export image, boxes, labels -> masks only')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'model.test_cfg.rcnn.score_thr=0.5')
    parser.add_argument('--num-boxes', type=int, default=10)
    parser.add_argument('--score-thr', type=float, default=0.3)
    args = parser.parse_args(argv)
    for path in [args.config, args.checkpoint, *args.images]:
        if not osp.isfile(path):
            raise SystemExit(f'pytorch2onnx: {path}: no such file')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    semantic = is_semantic_config(cfg)
    if not semantic:
        from mmdet.utils import register_all_modules
        register_all_modules()
    model = load_model(args.config, args.checkpoint, args.cfg_options)
    from mmpointrend import deploy
    try:
        if args.mask_graph:
            exported = deploy.export_instance(args.config, None,
                                              args.images[0], args.out,
                                              args.num_boxes, args.score_thr,
                                              model)
            report = deploy.check_instance(model, args.out, exported)
            print(f'{args.out}: ' + json.dumps(report))
            failures = ['masks differ'] if \
                report['mask_mismatch'] > args.tolerance else []
        else:
            export = deploy.export_semantic if semantic else \
                deploy.export_detector
            info = export(model, args.images[0], args.out, args.opset)
            print(f'{args.out}: traced at {info["export_size"]}, '
                  f'{len(info["ops"])} standard ONNX operator types')
            failures = []
            for img in args.images:
                if semantic:
                    report = deploy.check_semantic(model, args.out, img)
                    bad = report['label_mismatch'] > args.tolerance
                else:
                    report = deploy.check_detector(model, args.out, img)
                    bad = report['match_fraction'] < args.min_match or \
                        report['min_mask_iou'] < args.min_mask_iou or \
                        report['max_score_diff'] > args.max_score_diff
                print(json.dumps(report))
                if bad:
                    failures.append(img)
    except (ValueError, TypeError) as e:
        raise SystemExit(f'pytorch2onnx: {e}')
    if failures:
        print(
            'onnxruntime and PyTorch disagree on: ' + ', '.join(failures),
            file=sys.stderr)
        return 1
    print('onnxruntime output matches PyTorch')
    return 0


if __name__ == '__main__':
    sys.exit(main())
