"""Make the README's pictures from the demo models.

    python3 demo/make_pictures.py [--work-dir work_dirs/demo] [--out docs/pictures]

Uses the checkpoints ``demo/train_demo.py`` left in ``--work-dir`` (and runs
it first for a task whose checkpoints are missing), then writes:

* ``instance_compare_*.png``: 4x conv Mask R-CNN next to PointRend on
  validation images shown at 3x (the masks are pasted at that resolution:
  28x28 vs 224x224 mask predictions);
* ``instance_subdivision_*.png``: PointRend's coarse 7x7 prediction, the
  points of each subdivision step and the final mask (paper Fig. 4);
* ``semantic_compare_*.png`` and ``semantic_subdivision.png``: the same for
  SemanticFPN vs SemanticFPN + PointRend (paper Fig. 9).
"""
import argparse
import glob
import os
import os.path as osp
import subprocess
import sys
import tempfile

import cv2

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import image_demo  # noqa: E402

import mmpointrend  # noqa: E402,F401
from mmpointrend.apis import init_model  # noqa: E402
from mmpointrend.visualization import (  # noqa: E402
    instance_subdivision_pictures, semantic_subdivision_picture)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = dict(
    instance=('configs/demo/mask-rcnn_r18-tiny_fpn_shapes.py',
              'configs/demo/point-rend_r18-tiny_fpn_shapes.py'),
    semantic=('configs/demo/fpn_r18-tiny_scenes-seg.py',
              'configs/demo/point-rend_fpn_r18-tiny_scenes-seg.py'))
IMAGES = dict(instance=(3, 7, 11), semantic=(3, 10))


def _save(src: str, dst: str) -> None:
    cv2.imwrite(dst, cv2.imread(src), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def checkpoint(model_dir: str) -> str:
    found = sorted(
        glob.glob(osp.join(model_dir, 'iter_*.pth')),
        key=lambda p: int(p.rsplit('_', 1)[1][:-4]))
    return found[-1] if found else ''


def ensure_trained(task: str, work_dir: str, iters):
    dirs = [osp.join(work_dir, task, k) for k in ('baseline', 'pointrend')]
    if all(checkpoint(d) for d in dirs):
        return [checkpoint(d) for d in dirs]
    cmd = [
        sys.executable,
        osp.join(REPO, 'demo/train_demo.py'), '--task', task, '--work-dir',
        work_dir
    ]
    if iters:
        cmd += ['--iters', str(iters)]
    print('no demo checkpoints for', task, '- training:', ' '.join(cmd))
    subprocess.run(cmd, check=True, cwd=REPO)
    return [checkpoint(d) for d in dirs]


def upscaled(paths, factor: int, tmp: str):
    out = []
    for p in paths:
        img = cv2.imread(p)
        q = osp.join(tmp, osp.basename(p))
        cv2.imwrite(
            q,
            cv2.resize(
                img, None, fx=factor, fy=factor,
                interpolation=cv2.INTER_CUBIC))
        out.append(q)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--work-dir',
        default='work_dirs/demo',
        help="demo/train_demo.py's --work-dir")
    parser.add_argument('--out', default='docs/pictures')
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='iterations if the demo has to be trained')
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        for task, factor in (('instance', 3), ('semantic', 2)):
            ckpts = ensure_trained(task, args.work_dir, args.iters)
            val = sorted(
                glob.glob(
                    osp.join(
                        args.work_dir, f'data_{task}',
                        'val/*' if task == 'instance' else 'img_dir/val/*')))
            picks = [val[i] for i in IMAGES[task] if i < len(val)]
            src = osp.join(tmp, task)
            os.makedirs(src)
            upscaled(picks, factor, src)  # shown at factor x
            vis, _ = image_demo.run(src, list(zip(CONFIGS[task], ckpts)),
                                    osp.join(tmp, f'{task}_vis'), 0.5)
            for i, path in enumerate(
                    image_demo.side_by_side(vis, osp.join(tmp,
                                                          f'{task}_cmp'))):
                made.append(osp.join(args.out, f'{task}_compare_{i}.png'))
                _save(path, made[-1])
            if task == 'instance':
                model = init_model(CONFIGS[task][1], ckpts[1])
                strips = instance_subdivision_pictures(model, picks[0],
                                                       osp.join(tmp, 'strips'),
                                                       2, 0.5)
                for i, path in enumerate(strips):
                    made.append(
                        osp.join(args.out, f'instance_subdivision_{i}.png'))
                    _save(path, made[-1])
            else:
                model = init_model(CONFIGS[task][1], ckpts[1])
                path = semantic_subdivision_picture(model, picks[0],
                                                    osp.join(tmp, 'steps'))
                made.append(osp.join(args.out, 'semantic_subdivision.png'))
                _save(path, made[-1])
    for m in made:
        print(m)


if __name__ == '__main__':
    main()
