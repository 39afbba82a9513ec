"""Evaluate a checkpoint on a config's test set.

Same arguments as MMDetection's ``tools/test.py``.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

import mmpointrend  # noqa: F401  (registers modules; safe checkpoint loading)
from mmpointrend.apis import (DataConfigError, build_runner, check_config,
                              check_cpu_amp, finish_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument(
        '--out',
        type=str,
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--show-dir', help='directory where painted images will be saved')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: fp16 autocast on a GPU, bf16 on the CPU '
        '(point selection stays fp32)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, xxx=yyy format')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show_dir:
        vis_hook = cfg.default_hooks.get('visualization')
        if vis_hook is None:
            raise KeyError('--show-dir needs default_hooks.visualization')
        vis_hook.update(draw=True, test_out_dir=args.show_dir)
    try:
        check_config(cfg, splits=('test_dataloader', ))
    except DataConfigError as e:
        raise SystemExit(f'test: {e}')
    if args.amp:
        if not torch.cuda.is_available():
            check_cpu_amp(cfg)
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    runner = build_runner(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl or .pickle file')
        runner.test_evaluator.metrics.append(_dump_metric(args.out))
    metrics = runner.test()
    return metrics


def _dump_metric(out_file):
    from mmengine.evaluator import DumpResults
    return DumpResults(out_file_path=out_file)


if __name__ == '__main__':
    try:
        main()
    finally:
        finish_distributed()
