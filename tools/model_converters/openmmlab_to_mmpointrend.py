"""Convert an MMDetection 3.x or MMSegmentation 1.x PointRend checkpoint.

    python tools/model_converters/openmmlab_to_mmpointrend.py mmdet \\
        point_rend_r50_caffe_fpn_mstrain_1x_coco-1bcb5fb4.pth ours.pth
    python tools/test.py configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py ours.pth

    python tools/model_converters/openmmlab_to_mmpointrend.py mmseg \\
        pointrend_r50_512x1024_80k_cityscapes_20200711_015821-bb1ff523.pth ours.pth
    python tools/test.py \\
        configs/point_rend_seg/point-rend_fpn_r50-mmseg_4xb2-80k_cityscapes-512x1024.py ours.pth

With ``--config`` the result is loaded into that config's model with
``strict=True`` before it is written, and the config's classes and palette
fill ``meta.dataset_meta`` where the file has none. Only the PointRend
heads' keys change (see ``mmpointrend/converters``);
everything else is copied. The file is read with ``torch.load(weights_only
=True)``; ``--trust-file`` reads it with full unpickling, for files you trust
that hold other Python objects.
"""
import argparse
import pickle

import torch

import mmpointrend  # noqa: F401  (allow-lists mmengine's checkpoint types)
from mmpointrend.converters import (ConversionCheckError, mmdet_to_mmpointrend,
                                    mmseg_to_mmpointrend,
                                    verify_against_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('source', choices=['mmdet', 'mmseg'])
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    parser.add_argument(
        '--prefix',
        default=None,
        help="key prefix of the PointRend head (default 'roi_head.' for "
        "mmdet, 'decode_head.1.' for mmseg)")
    parser.add_argument(
        '--trust-file',
        action='store_true',
        help='unpickle the file fully (only for trusted files)')
    parser.add_argument(
        '--config',
        help='check: load into this config model with '
        'strict=True before saving; its test-dataset classes fill '
        'meta.dataset_meta when the file has none')
    return parser.parse_args(argv)


def load(path: str, trust: bool) -> dict:
    try:
        return torch.load(path, map_location='cpu', weights_only=not trust)
    except pickle.UnpicklingError as e:
        raise SystemExit(
            f'{path} holds objects that safe loading refuses ({e}). If you '
            'trust the file, run again with --trust-file.') from None


def convert(source: str, ckpt: dict, prefix=None) -> dict:
    state = ckpt.get('state_dict', ckpt)
    if source == 'mmdet':
        state = mmdet_to_mmpointrend(state, prefix or 'roi_head.')
    else:
        state = mmseg_to_mmpointrend(state, prefix or 'decode_head.1.')
    meta = dict(
        ckpt.get('meta', {}) if isinstance(ckpt.get('meta'), dict) else {})
    meta['converted_from'] = source
    return dict(state_dict=state, meta=meta)


def main(argv=None):
    args = parse_args(argv)
    out = convert(args.source, load(args.src, args.trust_file), args.prefix)
    if args.config:
        try:
            checked = verify_against_config(out['state_dict'], args.config)
        except ConversionCheckError as e:
            raise SystemExit(str(e))
        print('; '.join(checked['notes']))
        if not out['meta'].get('dataset_meta'):
            out['meta']['dataset_meta'] = checked['dataset_meta']
    torch.save(out, args.dst)
    print(f'{args.src} ({args.source}) -> {args.dst}: '
          f"{len(out['state_dict'])} tensors")


if __name__ == '__main__':
    main()
