"""CPU demo: PointRend vs. the 4x conv Mask R-CNN on generated shapes.

Generates a small COCO-format dataset of shapes with detailed boundaries,
trains both models from scratch with the same backbone, data and schedule,
evaluates both with COCO mask and box AP and prints them side by side.

    python demo/train_demo.py                 # a few minutes per model
    python demo/train_demo.py --iters 3000    # longer, better numbers
"""
import argparse
import json
import os
import os.path as osp
import time

from mmengine.config import Config
from mmengine.runner import Runner

import mmpointrend  # noqa: F401
from mmpointrend.apis import prepare_runner_cfg
from mmpointrend.datasets import generate_coco_shapes

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODELS = (
    ('Mask R-CNN (4x conv, 28x28)',
     'configs/demo/mask-rcnn_r18-tiny_fpn_shapes.py'),
    ('PointRend (224x224)', 'configs/demo/point-rend_r18-tiny_fpn_shapes.py'),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--iters', type=int, default=500,
                        help='training iterations per model (batch 4)')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--only', choices=['baseline', 'pointrend'],
                        help='train only one of the two models')
    return parser.parse_args()


def demo_cfg(path: str, data_root: str, work_dir: str, iters: int,
             seed: int) -> Config:
    """A demo config pointed at the generated data, with ``iters`` steps."""
    cfg = Config.fromfile(osp.join(REPO, path))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = osp.join(data_root, 'val.json')
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1  # evaluate once, after training
    warmup, steps = cfg.param_scheduler
    warmup.end = min(warmup.end, max(1, iters // 5))
    steps.end = iters
    steps.milestones = [int(iters * 0.75), int(iters * 0.9)]
    cfg.default_hooks.checkpoint.interval = iters
    cfg.randomness = dict(seed=seed)
    return prepare_runner_cfg(cfg)


def main():
    args = parse_args()
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.join(work_dir, 'data') + '/'
    stamp = osp.join(data_root, 'done.json')
    spec = dict(num_train=args.num_train, num_val=args.num_val,
                seed=args.seed)
    if not osp.exists(stamp) or json.load(open(stamp)) != spec:
        t0 = time.time()
        generate_coco_shapes(data_root, args.num_train, args.num_val,
                             seed=args.seed)
        json.dump(spec, open(stamp, 'w'))
        print(f'generated {args.num_train}+{args.num_val} images in '
              f'{time.time() - t0:.1f}s under {data_root}')

    rows = []
    for (name, path), key in zip(MODELS, ('baseline', 'pointrend')):
        if args.only and args.only != key:
            continue
        cfg = demo_cfg(path, data_root, osp.join(work_dir, key), args.iters,
                       args.seed)
        runner = Runner.from_cfg(cfg)
        t0 = time.time()
        runner.train()
        train_s = time.time() - t0
        t0 = time.time()
        metrics = runner.test()
        test_s = time.time() - t0
        rows.append(dict(model=name, config=path, iters=args.iters,
                         train_s=round(train_s, 1), test_s=round(test_s, 1),
                         **{k: round(100 * v, 1) for k, v in metrics.items()
                            if k.startswith('coco/') and v >= 0}))

    header = ('| model | mask AP | AP50 | AP75 | box AP | train (s) | '
              'test (s) |\n|---|---|---|---|---|---|---|')
    lines = [header] + [
        f"| {r['model']} | {r.get('coco/segm_mAP')} | "
        f"{r.get('coco/segm_mAP_50')} | {r.get('coco/segm_mAP_75')} | "
        f"{r.get('coco/bbox_mAP')} | {r['train_s']} | {r['test_s']} |"
        for r in rows
    ]
    table = '\n'.join(lines)
    print(f'\nResults after {args.iters} iterations (batch 4, CPU), '
          f'{args.num_val} validation images:\n{table}')
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(rows, f, indent=2)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')


if __name__ == '__main__':
    main()
