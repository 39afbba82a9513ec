"""Inference demo: masks of one or more models overlaid on images.

    # one model (MMDetection's / MMSegmentation's inferencers; the task is
    # read from the config)
    python demo/image_demo.py IMAGE_OR_DIR CONFIG CKPT --out-dir outputs
    # side by side, e.g. the 4x conv baseline next to PointRend
    python demo/image_demo.py IMAGE_OR_DIR BASE_CONFIG BASE_CKPT \\
        --compare PR_CONFIG PR_CKPT --out-dir outputs

Writes ``outputs/<model>/vis/<image>.png`` per model (the inferencers'
overlays) and, with ``--compare``, ``outputs/compare/<image>.png``: the
models' overlays in one row with their config names. Images of a folder that
cannot be read are skipped with a warning naming them, listed again at the
end, and make the exit code 1; the others are all processed.
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.utils import scandir

import mmpointrend  # noqa: F401
from mmpointrend.apis import checkpoint_dataset_meta


def _meta_from_config(inferencer_cls):
    """``inferencer_cls`` taking class names and palette from the config's
    test dataset when the checkpoint stores none (converted zoo weights);
    mmdet's would fall back to COCO's names, mmseg's to Cityscapes'."""

    class Inferencer(inferencer_cls):

        def _load_weights_to_model(self, model, checkpoint, cfg):
            super()._load_weights_to_model(model, checkpoint, cfg)
            if checkpoint is not None and not checkpoint.get(
                    'meta', {}).get('dataset_meta'):
                model.dataset_meta = checkpoint_dataset_meta(
                    None, cfg, 'the checkpoint')

    return Inferencer


def inferencer(config: str, checkpoint: str, device: str):
    scope = Config.fromfile(config).get('default_scope', 'mmdet')
    if scope == 'mmseg':
        from mmseg.apis import MMSegInferencer
        inf = _meta_from_config(MMSegInferencer)(
            model=config, weights=checkpoint, device=device)
        # mmseg's visualizer is told the classes separately
        inf.visualizer.set_dataset_meta(inf.model.dataset_meta['classes'],
                                        inf.model.dataset_meta['palette'])
        return inf, scope
    from mmdet.apis import DetInferencer
    return _meta_from_config(DetInferencer)(
        model=config, weights=checkpoint, device=device), scope


IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')


def readable_images(inputs: str):
    """The image paths of ``inputs`` (a file or a folder, searched as the
    inferencers do) split into those that decode and those that do not:
    ``(readable, [(path, why), ...])``."""
    if osp.isdir(inputs):
        paths = [
            osp.join(inputs, f) for f in sorted(
                scandir(
                    inputs,
                    IMG_EXTENSIONS,
                    recursive=False,
                    case_sensitive=False))
        ]
    else:
        paths = [inputs]
    readable, failed = [], []
    for path in paths:
        try:
            img = mmcv.imread(path)
        except Exception as e:  # mmcv / cv2 / Pillow decoder errors
            img, why = None, f'{type(e).__name__}: {e}'
        else:
            why = 'not a readable image'
        if img is None or img.size == 0:
            failed.append((path, why))
        else:
            readable.append(path)
    return readable, failed


def run(inputs: str,
        models,
        out_dir: str,
        score_thr: float = 0.3,
        device: str = 'cpu'):
    """Overlay every model's predictions on every readable image.

    Returns:
        tuple: ``{model name: vis dir}`` and ``[(image, why)]`` of the images
        that could not be read (each also warned about).
    """
    if not osp.exists(inputs):
        raise FileNotFoundError(f'no image or directory {inputs}')
    images, failed = readable_images(inputs)
    for path, why in failed:
        print(f'image_demo: WARNING skipping {path}: {why}', file=sys.stderr)
    vis_dirs = {}
    for config, checkpoint in models:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        name = osp.splitext(osp.basename(config))[0]
        if name in vis_dirs:  # the same config twice (other weights)
            name = f'{name}_{len(vis_dirs)}'
        inf, scope = inferencer(config, checkpoint, device)
        target = osp.join(out_dir, name)
        kwargs = dict(out_dir=target)
        if scope == 'mmdet':
            kwargs.update(pred_score_thr=score_thr, no_save_pred=True)
        if images:
            inf(images, **kwargs)
        vis_dirs[name] = osp.join(target, 'vis')
    return vis_dirs, failed


def side_by_side(vis_dirs: dict, out_dir: str):
    """One row per image: the models' overlays with their names."""
    names = list(vis_dirs)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    first = vis_dirs[names[0]]
    for fname in sorted(os.listdir(first) if osp.isdir(first) else []):
        tiles = []
        for name in names:
            img = cv2.imread(osp.join(vis_dirs[name], fname))
            if img is None:
                break
            bar = np.full((22, img.shape[1], 3), 255, np.uint8)
            cv2.putText(bar, name[:img.shape[1] // 7], (3, 16),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                        cv2.LINE_AA)
            tiles += [
                np.concatenate([bar, img], 0),
                np.full((img.shape[0] + 22, 6, 3), 255, np.uint8)
            ]
        else:
            path = osp.join(out_dir, fname)
            cv2.imwrite(path, np.concatenate(tiles[:-1], 1))
            paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', help='an image or a directory of images')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--compare',
        nargs=2,
        action='append',
        default=[],
        metavar=('CONFIG', 'CKPT'),
        help='another model to show beside it (repeatable)')
    parser.add_argument('--out-dir', default='outputs')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    models = [(args.config, args.checkpoint)
              ] + [tuple(m) for m in args.compare]
    try:
        vis, failed = run(args.inputs, models, args.out_dir, args.score_thr,
                          args.device)
    except FileNotFoundError as e:
        sys.exit(f'image_demo: {e}')
    for name, d in vis.items():
        print(f'{name}: {d}')
    if len(models) > 1:
        paths = side_by_side(vis, osp.join(args.out_dir, 'compare'))
        print(f'side by side: {len(paths)} images in '
              f'{osp.join(args.out_dir, "compare")}')
    if failed:
        sys.exit(f'image_demo: {len(failed)} image(s) could not be read and '
                 'were skipped: ' + ', '.join(path for path, _ in failed))


if __name__ == '__main__':
    main()
