"""Convert a detectron2 PointRend checkpoint (model-zoo .pkl) to mmpointrend.

    python tools/model_converters/detectron2_to_mmpointrend.py \\
        model_final_736f5a.pkl point-rend_r50_d2zoo.pth \\
        --config configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_d2-exact.py
    python tools/test.py \\
        configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_d2-exact.py \\
        point-rend_r50_d2zoo.pth

Handles the instance models (both detectron2 layouts of the mask heads: the
current ``roi_heads.mask_head.{coarse_head,point_head}`` and the older
``_version`` 1 ``roi_heads.mask_coarse_head`` / ``mask_point_head``) and the
semantic SemanticFPN + PointRend model; see ``mmpointrend/converters/
detectron2.py`` for the key map and what needs no change. Zoo model -> config:

==========================================  ==========================================================================
pointrend_rcnn_R_50_FPN_1x_coco             configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_d2-exact.py
pointrend_rcnn_R_50_FPN_3x_coco             configs/point_rend/point-rend_r50-caffe_fpn_ms-3x_coco_d2-exact.py
pointrend_rcnn_R_101_FPN_3x_coco            configs/point_rend/point-rend_r101-caffe_fpn_ms-3x_coco_d2-exact.py
pointrend_rcnn_X_101_32x8d_FPN_3x_coco      configs/point_rend/point-rend_x101-32x8d_fpn_ms-3x_coco_d2-exact.py
pointrend_rcnn_R_50_FPN_1x_cityscapes       configs/point_rend/point-rend_r50-caffe_fpn_ms-24k_cityscapes_d2-exact.py
pointrend_semantic_R_101_FPN_1x_cityscapes  configs/point_rend_seg/point-rend_fpn_r101-caffe-d2zoo_8xb4-65k_cityscapes-512x1024.py
==========================================  ==========================================================================

The ``_d2-exact`` configs are the training configs tested as detectron2 tests
(PIL resize, logit-ranked proposals, empty boxes dropped); the plain configs
load the same weights.

With ``--config`` the converted weights are loaded into the config's model
with ``strict=True``, its data preprocessor is checked against the pixel
mean / std where the file stores them (current zoo files do not; the tool
says so), and the config's test-dataset classes and palette are stored as
``meta.dataset_meta``; the output is written only if the checks pass.
The .pkl is read by an unpickler that accepts numpy arrays only;
``--trust-file`` lifts that for files you trust.
"""
import argparse
import sys

import torch

import mmpointrend  # noqa: F401
from mmpointrend.converters import (ConversionCheckError,
                                    Detectron2FormatError,
                                    detectron2_to_mmpointrend,
                                    load_detectron2_checkpoint,
                                    verify_against_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='detectron2 checkpoint (.pkl or .pth)')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    parser.add_argument(
        '--config',
        help='check: load into this config '
        "model with strict=True before saving")
    parser.add_argument(
        '--trust-file',
        action='store_true',
        help='unpickle the file fully (only for trusted files)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        ckpt = load_detectron2_checkpoint(args.src, trust=args.trust_file)
        state, report = detectron2_to_mmpointrend(ckpt['model'])
    except Detectron2FormatError as e:
        raise SystemExit(f'{args.src}: {e}')
    meta = dict(
        converted_from='detectron2',
        detectron2_author=str(ckpt.get('__author__', 'unknown')),
        layout=report['layout'],
        num_classes=report['num_classes'])
    if args.config:
        try:
            checked = verify_against_config(state, args.config, report)
        except ConversionCheckError as e:
            raise SystemExit(str(e))
        print('; '.join(checked['notes']))
        # class names and palette for demos, export and visualisation
        meta['dataset_meta'] = checked['dataset_meta']
    else:
        print('no --config: the weights were not checked and the file gets '
              'no dataset_meta (tools then take the classes from the config '
              'they are used with)')
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    dropped = ', '.join(f'{k} ({why})' for k, why in report['dropped'].items())
    print(f"{args.src} (detectron2, {report['layout']} layout, "
          f"{report['num_classes']} classes) -> {args.dst}: {len(state)} "
          f"tensors" + (f'; not carried over: {dropped}' if dropped else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
