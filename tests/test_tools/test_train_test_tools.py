"""End to end through mmengine's Runner and the tools on generated data."""
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import pytest
import torch
from helpers import DEMO_PR_CFG, REPO, load_demo_cfg
from mmengine.runner import Runner

DATA_OPTS = ('train_dataloader.dataset.data_root={root} '
             'val_dataloader.dataset.data_root={root} '
             'test_dataloader.dataset.data_root={root} '
             'val_evaluator.0.ann_file={root}val.json '
             'val_evaluator.1.ann_file={root}val.json '
             'test_evaluator.0.ann_file={root}val.json '
             'test_evaluator.1.ann_file={root}val.json')


def _small(cfg, iters):
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.optim_wrapper.optimizer.lr = 0.01
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.num_workers = 0
    cfg.val_dataloader.num_workers = 0
    cfg.test_dataloader = cfg.val_dataloader
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    return cfg


@pytest.fixture(scope='module')
def trained(shapes_data, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('train'))
    cfg = _small(load_demo_cfg(DEMO_PR_CFG, shapes_data, work_dir), 16)
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    return dict(work_dir=work_dir, losses=losses, runner=runner)


def test_training_loss_falls(trained):
    losses = trained['losses']
    assert len(losses) == 16
    assert all(map(lambda v: v == v, losses))  # no NaN
    assert losses[-4:].mean() < 0.9 * losses[:4].mean(), losses


def test_checkpoint_loads_with_weights_only(trained):
    ckpt = osp.join(trained['work_dir'], 'iter_16.pth')
    data = torch.load(ckpt, weights_only=True)
    assert {'state_dict', 'message_hub', 'meta'} <= set(data)
    assert any(k.startswith('roi_head.point_head') for k in data['state_dict'])


class _GetAttr:
    """Pickles as ``getattr(obj, name)``."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize('obj,name', [('hb', '__init__'),
                                      ('hb', '_set_default_statistics'),
                                      ('od', 'fromkeys')])
def test_safe_globals_refuse_any_other_getattr(tmp_path, obj, name):
    from collections import OrderedDict

    from mmengine.logging import HistoryBuffer
    target = dict(hb=HistoryBuffer, od=OrderedDict)[obj]
    path = tmp_path / 'evil.pth'
    torch.save({'x': _GetAttr(target, name)}, path)
    with pytest.raises(pickle.UnpicklingError, match='only allows'):
        torch.load(path, weights_only=True)
    # while HistoryBuffer's statistics methods (what mmengine pickles) load
    torch.save({'x': _GetAttr(HistoryBuffer, 'mean')}, path)
    assert torch.load(path, weights_only=True)['x'] is HistoryBuffer.mean


def test_tools_test_reports_coco_metrics(trained, shapes_data, tmp_path):
    ckpt = osp.join(trained['work_dir'], 'iter_16.pth')
    out = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools/test.py'), DEMO_PR_CFG, ckpt, '--work-dir',
            str(tmp_path), '--out',
            str(tmp_path / 'preds.pkl'), '--cfg-options'
        ] + DATA_OPTS.format(root=shapes_data).split() +
        ['test_dataloader.num_workers=0'],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    for key in ('coco/segm_mAP', 'coco/bbox_mAP', 'coco/segm_mAP_50',
                'boundary/bAP', 'boundary/bAP_75'):
        assert re.search(key + r': -?\d', log), key
    preds = pickle.load(open(tmp_path / 'preds.pkl', 'rb'))
    assert len(preds) == 8
    assert preds[0]['pred_instances']['masks'] is not None


def test_resume_continues_from_last_checkpoint(shapes_data, tmp_path):
    cfg = _small(load_demo_cfg(DEMO_PR_CFG, shapes_data, str(tmp_path)), 4)
    cfg.default_hooks.checkpoint.interval = 2
    Runner.from_cfg(cfg).train()
    assert osp.exists(tmp_path / 'iter_4.pth')
    cfg = _small(load_demo_cfg(DEMO_PR_CFG, shapes_data, str(tmp_path)), 6)
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 6
    assert osp.exists(tmp_path / 'iter_6.pth')
    # the message hub history continued instead of restarting
    assert len(runner.message_hub.get_scalar('train/loss').data[0]) == 6


def test_dist_train_and_test_two_cpu_processes(shapes_data, tmp_path):
    """tools/dist_train.sh CONFIG 2 and dist_test.sh run here (gloo)."""
    opts = DATA_OPTS.format(root=shapes_data).split() + [
        'train_cfg.max_iters=2', 'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=1',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0'
    ]
    env = dict(os.environ, PORT='29533')
    out = subprocess.run(
        [
            'bash', 'tools/dist_train.sh', DEMO_PR_CFG, '2', '--work-dir',
            str(tmp_path), '--cfg-options'
        ] + opts,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert osp.exists(tmp_path / 'iter_2.pth')
    out = subprocess.run(
        [
            'bash', 'tools/dist_test.sh', DEMO_PR_CFG,
            str(tmp_path / 'iter_2.pth'), '2', '--work-dir',
            str(tmp_path), '--cfg-options'
        ] + opts,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert 'coco/segm_mAP' in out.stdout + out.stderr


def test_prepare_runner_cfg_on_cpu():
    from mmengine.config import Config

    from mmpointrend.apis import prepare_runner_cfg
    from mmpointrend.apis.runner_utils import sync_bn_to_bn
    cfg = Config(
        dict(
            model=dict(
                backbone=dict(norm_cfg=dict(type='SyncBN')),
                decode_head=[
                    dict(norm_cfg=dict(type='SyncBN')),
                    dict(norm_cfg=dict(type='GN'))
                ])))
    assert sync_bn_to_bn(cfg.model) == 2
    assert cfg.model.decode_head[0].norm_cfg.type == 'BN'
    assert cfg.model.decode_head[1].norm_cfg.type == 'GN'
    if not torch.cuda.is_available():
        cfg = prepare_runner_cfg(Config(dict(model=dict(), launcher='none')))
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert 'model_wrapper_cfg' not in cfg
        cfg = prepare_runner_cfg(
            Config(dict(model=dict(), launcher='pytorch')))
        assert cfg.model_wrapper_cfg.type == 'CPUDistributedDataParallel'
        # the config is all it changes: no process-wide patch
        assert torch.cuda.set_device.__module__ == 'torch.cuda'


def test_cuda_device_selection_is_skipped_only_while_building():
    from mmpointrend.apis.runner_utils import _no_cuda_device_selection
    original = torch.cuda.set_device
    with _no_cuda_device_selection():
        assert torch.cuda.set_device is not original
        torch.cuda.set_device(3)  # no CUDA here: would raise otherwise
    assert torch.cuda.set_device is original
    try:
        with _no_cuda_device_selection():
            raise RuntimeError('Runner failed')
    except RuntimeError:
        pass
    assert torch.cuda.set_device is original


def test_sigkill_then_resume_reaches_the_final_iteration(
        shapes_data, tmp_path):
    """A run killed with SIGKILL resumes from its last checkpoint."""
    import signal
    import time
    opts = DATA_OPTS.format(root=shapes_data).split() + [
        'train_cfg.max_iters=12', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=3',
        'default_hooks.checkpoint.max_keep_ckpts=10',
        'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
        'default_hooks.logger.interval=1'
    ]
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools/train.py'), DEMO_PR_CFG, '--work-dir',
        str(tmp_path), '--cfg-options'
    ] + opts
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (tmp_path / 'iter_6.pth').exists():
        assert proc.poll() is None, 'training ended before it was killed'
        assert time.time() < deadline
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / 'iter_12.pth').exists()
    out = subprocess.run(
        cmd + ['--resume'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    log = out.stdout + out.stderr
    assert re.search(r'resumed|Load checkpoint from', log, re.I)
    assert 'Iter(train) [12/12]' in log
    ckpt = torch.load(tmp_path / 'iter_12.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 12
    # every checkpoint of both runs is still readable
    for path in tmp_path.glob('iter_*.pth'):
        torch.load(path, weights_only=True)


def _logged_losses(work_dir):
    import glob
    import json
    path = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))[0]
    rows = [json.loads(line) for line in open(path)]
    return {r['iter']: r['loss'] for r in rows if 'loss' in r}


def test_two_processes_match_one_process_with_the_same_total_batch(
        shapes_data, tmp_path):
    """2 CPU processes x 1 image vs 1 process x 2 images, same data order
    (no shuffling), same initial weights: losses of the same size."""
    common = DATA_OPTS.format(root=shapes_data).split() + [
        'train_cfg.max_iters=3', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=3',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1',
        'train_dataloader.sampler.shuffle=False',
        'train_dataloader.num_workers=0', 'randomness.seed=0',
        'optim_wrapper.optimizer.lr=0.001'
    ]
    single = subprocess.run([
        sys.executable, 'tools/train.py', DEMO_PR_CFG, '--work-dir',
        str(tmp_path / 'one'), '--cfg-options', *common,
        'train_dataloader.batch_size=2'
    ],
                            capture_output=True,
                            text=True,
                            cwd=REPO,
                            timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]
    env = dict(os.environ, PORT='29544')
    double = subprocess.run([
        'bash', 'tools/dist_train.sh', DEMO_PR_CFG, '2', '--work-dir',
        str(tmp_path / 'two'), '--cfg-options', *common,
        'train_dataloader.batch_size=1'
    ],
                            capture_output=True,
                            text=True,
                            cwd=REPO,
                            env=env,
                            timeout=600)
    assert double.returncode == 0, (double.stdout + double.stderr)[-3000:]
    log = double.stdout + double.stderr
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    one = _logged_losses(str(tmp_path / 'one'))
    two = _logged_losses(str(tmp_path / 'two'))
    assert sorted(one) == sorted(two) == [1, 2, 3]
    for it in one:
        assert 0.5 < two[it] / one[it] < 2.0, (it, one[it], two[it])
