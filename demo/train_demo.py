"""CPU demo: PointRend next to its baseline, trained on generated data.

Instance segmentation: a COCO-format dataset of shapes with detailed
boundaries; PointRend and the 4x conv Mask R-CNN, same backbone, data and
schedule; COCO mask and box AP. Semantic segmentation: street-like scenes with
poles, wires and text; SemanticFPN with and without PointRend; mIoU. Both
models of a task train from scratch on the CPU and are printed side by side.

    python demo/train_demo.py                   # both tasks, minutes per model
    python demo/train_demo.py --task semantic   # one task
    python demo/train_demo.py --iters 3000      # longer, better numbers
    python demo/train_demo.py --task finetune   # fine-tuning to new classes
    python demo/train_demo.py --task cascade    # on Cascade Mask R-CNN
    python demo/train_demo.py --task rtmdet     # on RTMDet-Ins (one-stage)
    python demo/train_demo.py --task mask2former  # on Mask2Former (queries)

Besides the metrics each row gives the training time, the peak memory of
training (the rise of the resident set, VmHWM, of the process that trains
it: each model trains and tests in its own process forked from this one)
and the test time per image.
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import time
from typing import Callable, Optional

from mmengine.config import Config

import mmpointrend  # noqa: F401
from mmpointrend.apis import build_runner
from mmpointrend.datasets import (generate_coco_shapes,
                                  generate_semantic_scenes,
                                  sample_point_annotations, use_data_root)
from mmpointrend.utils import PeakMemory

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TASKS = dict(
    instance=dict(
        models=(('Mask R-CNN (4x conv, 28x28)',
                 'configs/demo/mask-rcnn_r18-tiny_fpn_shapes.py'),
                ('PointRend (224x224)',
                 'configs/demo/point-rend_r18-tiny_fpn_shapes.py')),
        metrics=(('mask AP', 'coco/segm_mAP'), ('AP50', 'coco/segm_mAP_50'),
                 ('AP75', 'coco/segm_mAP_75'), ('Boundary AP', 'boundary/bAP'),
                 ('box AP', 'coco/bbox_mAP')),
        iters=500),
    semantic=dict(
        models=(('SemanticFPN (stride 4)',
                 'configs/demo/fpn_r18-tiny_scenes-seg.py'),
                ('SemanticFPN + PointRend (full resolution)',
                 'configs/demo/point-rend_fpn_r18-tiny_scenes-seg.py')),
        metrics=(('mIoU', 'mIoU'), ('boundary IoU', 'boundary/bIoU'),
                 ('boundary F', 'boundary/bF'), ('mAcc', 'mAcc'), ('aAcc',
                                                                   'aAcc')),
        iters=800),
    # the same on a cascade host: same data and budget as 'instance'
    cascade=dict(
        data='instance',
        models=(
            ('Cascade Mask R-CNN (4x conv, 28x28)',
             'configs/demo/cascade-mask-rcnn_r18-tiny_fpn_shapes.py'),
            ('Cascade PointRend (224x224)',
             'configs/demo/point-rend_cascade-mask-rcnn_r18-tiny_fpn_shapes.py'
             )),
        metrics=(('mask AP', 'coco/segm_mAP'), ('AP50', 'coco/segm_mAP_50'),
                 ('AP75', 'coco/segm_mAP_75'), ('Boundary AP', 'boundary/bAP'),
                 ('box AP', 'coco/bbox_mAP')),
        iters=500),
    # same data and budget as 'instance'; train_points_n10.json is made
    # from train.json by sample_point_annotations
    pointsup=dict(
        data='instance',
        models=(('PointRend (full masks)',
                 'configs/demo/point-rend_r18-tiny_fpn_shapes.py'),
                ('PointRend (10 points per object)',
                 'configs/demo/point-rend_r18-tiny_fpn_shapes_point-sup.py'),
                ('Implicit PointRend (full masks)',
                 'configs/demo/implicit-point-rend_r18-tiny_fpn_shapes.py')),
        metrics=(('mask AP', 'coco/segm_mAP'), ('AP50', 'coco/segm_mAP_50'),
                 ('AP75', 'coco/segm_mAP_75'), ('Boundary AP', 'boundary/bAP'),
                 ('box AP', 'coco/bbox_mAP')),
        iters=500),
    # one-stage hosts: the host's own masks vs PointRend's refinement, same
    # data as 'instance'
    rtmdet=dict(
        data='instance',
        models=(('RTMDet-Ins tiny (stride 8, upsampled)',
                 'configs/demo/rtmdet-ins_tiny_shapes.py'),
                ('RTMDet-Ins tiny + PointRend',
                 'configs/demo/point-rend_rtmdet-ins_tiny_shapes.py')),
        metrics=(('mask AP', 'coco/segm_mAP'), ('AP75', 'coco/segm_mAP_75'),
                 ('Boundary AP', 'boundary/bAP'), ('box AP', 'coco/bbox_mAP')),
        iters=1000),
    mask2former=dict(
        data='instance',
        models=(('Mask2Former (stride 4, upsampled)',
                 'configs/demo/mask2former_r18-tiny_shapes.py'),
                ('Mask2Former + PointRend',
                 'configs/demo/point-rend_mask2former_r18-tiny_shapes.py')),
        metrics=(('mask AP', 'coco/segm_mAP'), ('AP75', 'coco/segm_mAP_75'),
                 ('Boundary AP', 'boundary/bAP'), ('box AP', 'coco/bbox_mAP')),
        iters=2000),
    # the 'instance' PointRend (trained first if missing) fine-tuned on a
    # smaller set of other classes, three ways at the same budget
    finetune=dict(
        data='finetune',
        models=(('from scratch',
                 'configs/demo/point-rend_r18-tiny_fpn_shapes_finetune.py'),
                ("mmengine's plain load_from (mmdet's tools)",
                 'configs/demo/point-rend_r18-tiny_fpn_shapes_finetune.py'),
                ('ClassAwareLoadHook (our tools)',
                 'configs/demo/point-rend_r18-tiny_fpn_shapes_finetune.py')),
        metrics=(('mask AP', 'coco/segm_mAP'), ('AP50', 'coco/segm_mAP_50'),
                 ('AP75', 'coco/segm_mAP_75'), ('Boundary AP', 'boundary/bAP'),
                 ('box AP', 'coco/bbox_mAP')),
        iters=200),
)
#: the fine-tuning set: 'ring' and 'star' shared with the instance data's
#: classes (at other indices), 'cross' new; a quarter of the images
FINETUNE_SHAPES = ('ring', 'cross', 'star')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--task',
        choices=[
            'all', 'instance', 'semantic', 'cascade', 'pointsup', 'finetune',
            'rtmdet', 'mask2former'
        ],
        default='all',
        help="'cascade': 4x conv vs PointRend on Cascade Mask R-CNN; "
        "'pointsup': full-mask vs point-supervised PointRend vs "
        "Implicit PointRend; 'finetune': the instance PointRend fine-tuned "
        "to other classes three ways; 'rtmdet' / 'mask2former': RTMDet-Ins "
        "tiny / a small Mask2Former with and without PointRend (none of "
        "them part of 'all')")
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        help='training iterations per model, batch 4 (default: 500 '
        'instance, 800 semantic, 200 finetune after 500 instance, 1000 '
        'rtmdet, 2000 mask2former)')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--only',
        choices=[
            'baseline', 'pointrend', 'full', 'points', 'implicit', 'scratch',
            'plain', 'ours'
        ],
        help='train only one of the models (pointsup: full / points / '
        'implicit; finetune: scratch / plain / ours)')
    parser.add_argument(
        '--eval-only',
        action='store_true',
        help='do not train: test the checkpoints a previous run with the '
        'same --work-dir and --iters left (iter_N.pth)')
    return parser.parse_args()


def demo_cfg(path: str, data_root: str, work_dir: str, iters: int,
             seed: int) -> Config:
    """A demo config pointed at the generated data, with ``iters`` steps."""
    cfg = use_data_root(Config.fromfile(osp.join(REPO, path)), data_root)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1  # evaluate once, after training
    warmup, steps = cfg.param_scheduler
    warmup.end = min(warmup.end, max(1, iters // 5))
    steps.end = iters
    steps.milestones = [int(iters * 0.75), int(iters * 0.9)]
    cfg.default_hooks.checkpoint.interval = iters
    cfg.randomness = dict(seed=seed)
    return cfg


def make_data(task: str, work_dir: str, args) -> str:
    """Generate the task's dataset once (kept while its settings match)."""
    data_root = osp.join(work_dir, f'data_{task}') + '/'
    stamp = osp.join(data_root, 'done.json')
    spec = dict(num_train=args.num_train, num_val=args.num_val, seed=args.seed)
    if task == 'finetune':  # a quarter of the images, other shapes
        spec.update(
            num_train=args.num_train // 4,
            seed=args.seed + 1,
            shapes=list(FINETUNE_SHAPES))
    if osp.exists(stamp) and json.load(open(stamp)) == spec:
        return data_root
    t0 = time.time()
    if task == 'instance':
        generate_coco_shapes(
            data_root, args.num_train, args.num_val, seed=args.seed)
    elif task == 'finetune':
        generate_coco_shapes(
            data_root,
            spec['num_train'],
            args.num_val,
            seed=spec['seed'],
            shapes=FINETUNE_SHAPES)
    else:
        generate_semantic_scenes(
            data_root, args.num_train, args.num_val, seed=args.seed)
    json.dump(spec, open(stamp, 'w'))
    print(f"generated {spec['num_train']}+{args.num_val} {task} images in "
          f'{time.time() - t0:.1f}s under {data_root}')
    return data_root


def source_checkpoint(work_dir: str, args) -> str:
    """The 'instance' task's PointRend (500 iterations), trained now if
    missing: what the 'finetune' task starts from."""
    iters = TASKS['instance']['iters']
    ckpt = osp.join(work_dir, 'instance', 'pointrend', f'iter_{iters}.pth')
    if not osp.isfile(ckpt):
        source = argparse.Namespace(**vars(args))
        source.iters, source.only, source.eval_only = iters, 'pointrend', False
        run_task('instance', work_dir, source)
    return ckpt


def build_finetune_runner(key: str, cfg: Config, source: str):
    """The three ways to start: nothing loaded; mmengine's plain
    ``load_from`` through ``Runner.from_cfg`` as mmdet's ``tools/train.py``
    does; :func:`build_runner`, which adds ClassAwareLoadHook."""
    from mmengine.runner import Runner
    if key == 'scratch':
        return build_runner(cfg)
    cfg.load_from = source
    return Runner.from_cfg(cfg) if key == 'plain' else build_runner(cfg)


def in_fresh_process(label: str, fn: Callable, *args):
    """``fn(*args)`` in a forked child (``label`` names it in an error): each model trains from the same
    process state, so that its peak memory is its own and not what an
    earlier model left in the heap."""
    ctx = multiprocessing.get_context('fork')
    receive, send = ctx.Pipe(duplex=False)

    def child():
        send.send(fn(*args))

    process = ctx.Process(target=child)
    process.start()
    send.close()
    try:
        result = receive.recv()
    except EOFError:  # the child died before sending
        process.join()
        raise SystemExit(f'{label}: the training process exited with '
                         f'code {process.exitcode}') from None
    process.join()
    return result


def model_row(task: str, key: str, name: str, path: str, cfg: Config,
              source: Optional[str], train_s: Optional[float],
              eval_only: bool) -> dict:
    """Train (or with ``eval_only`` load) and test one model: its row."""
    iters = cfg.train_cfg.max_iters
    train_mb = None
    if eval_only:
        ckpt = osp.join(cfg.work_dir, f'iter_{iters}.pth')
        if not osp.isfile(ckpt):
            raise SystemExit(f'--eval-only: no {ckpt}; train first')
        cfg.load_from = ckpt
        runner = build_runner(cfg)
    else:
        runner = build_finetune_runner(
            key, cfg, source) if task == 'finetune' else build_runner(cfg)
        t0 = time.time()
        with PeakMemory('cpu') as peak:
            runner.train()
        train_s = round(time.time() - t0, 1)
        train_mb = round(peak.mb)
    t0 = time.time()
    metrics = runner.test()
    test_s = time.time() - t0
    num_test = len(runner.test_dataloader.dataset)
    scale = 1 if task == 'semantic' else 100  # coco AP is in [0, 1]
    return dict(
        model=name,
        config=path,
        iters=iters,
        train_s=train_s,
        train_mb=train_mb,
        test_s=round(test_s, 1),
        test_ms_per_image=round(1000 * test_s / max(num_test, 1)),
        **{k: round(scale * v, 1)
           for k, v in metrics.items()})


def run_task(task: str, work_dir: str, args) -> str:
    spec = TASKS[task]
    iters = args.iters or spec['iters']
    source = source_checkpoint(work_dir, args) if task == 'finetune' else None
    data_root = make_data(spec.get('data', task), work_dir, args)
    if task == 'pointsup':
        points = osp.join(data_root, 'train_points_n10.json')
        with open(osp.join(data_root, 'train.json')) as f:
            coco = json.load(f)
        with open(points, 'w') as f:
            json.dump(sample_point_annotations(coco, 10, args.seed), f)
    rows = []
    previous = osp.join(work_dir, f'results_{task}.json')
    # --eval-only keeps the training times the training run measured
    trained_s = {
        r['model']: r.get('train_s')
        for r in json.load(open(previous))
    } if args.eval_only and osp.exists(previous) else {}
    keys = ('baseline', 'pointrend', 'third')
    if task == 'pointsup':
        keys = ('full', 'points', 'implicit')
    elif task == 'finetune':
        keys = ('scratch', 'plain', 'ours')
    for (name, path), key in zip(spec['models'], keys):
        if args.only and args.only != key:
            continue
        cfg = demo_cfg(path, data_root, osp.join(work_dir, task, key), iters,
                       args.seed)
        rows.append(
            in_fresh_process(name, model_row, task, key, name, path, cfg,
                             source, trained_s.get(name), args.eval_only))
    names = [m[0] for m in spec['metrics']]
    lines = [
        f"| model | {' | '.join(names)} | train (s) | train peak mem (MB) "
        '| test (ms / image) |', '|' + '---|' * (len(names) + 4)
    ]
    for r in rows:
        vals = ' | '.join(str(r.get(k)) for _, k in spec['metrics'])
        lines.append(f"| {r['model']} | {vals} | {r['train_s'] or '-'} | "
                     f"{r.get('train_mb') or '-'} | "
                     f"{r['test_ms_per_image']} |")
    table = '\n'.join(lines)
    start = ('from the instance PointRend'
             if task == 'finetune' else 'CPU from scratch')
    print(f'\n{task}: {iters} iterations (batch 4, {start}), '
          f'{args.num_val} validation images:\n{table}\n')
    with open(osp.join(work_dir, f'results_{task}.json'), 'w') as f:
        json.dump(rows, f, indent=2)
    return f'### {task} ({iters} iterations)\n\n{table}\n'


def main():
    args = parse_args()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    tasks = ['instance', 'semantic'] if args.task == 'all' else [args.task]
    report = [run_task(task, work_dir, args) for task in tasks]
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(report))
    print('\n'.join(report))
    print(f'results: {osp.join(work_dir, "results.md")}')


if __name__ == '__main__':
    main()
