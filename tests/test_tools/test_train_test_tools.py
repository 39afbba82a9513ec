"""End to end through mmengine's Runner and the tools on generated data."""
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import pytest
import torch
from helpers import DEMO_PR_CFG, REPO, load_demo_cfg, run_tool
from mmengine.runner import Runner

# the end-to-end tier (pytest --e2e; tests/conftest.py)
pytestmark = pytest.mark.e2e

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


def test_tools_test_names_missing_images_before_building(trained, tmp_path):
    """Images listed in the annotation file but not on disk: one message
    with the count and the first names, before any model is built."""
    import shutil
    root = str(tmp_path / 'data') + '/'
    shutil.copytree(trained['runner'].cfg.train_dataloader.dataset.data_root,
                    root)
    gone = sorted(os.listdir(root + 'val'))[:3]
    for name in gone:
        os.remove(root + 'val/' + name)
    ckpt = osp.join(trained['work_dir'], 'iter_16.pth')
    out = run_tool('tools/test.py', DEMO_PR_CFG, ckpt, '--work-dir',
                   tmp_path / 'work', '--cfg-options',
                   *DATA_OPTS.format(root=root).split())
    assert out.returncode != 0
    assert 'Traceback' not in out.stderr
    assert f'3 of the 8 images listed in {root}val.json are not under ' \
        f'{root}val/: {", ".join(gone)}' in out.stderr
    assert 'Load checkpoint' not in out.stdout + out.stderr


def test_tools_train_fine_tunes_into_other_classes(trained, tmp_path):
    """tools/train.py with load_from a 4-class checkpoint into the demo's
    3-class fine-tuning config: the log shows the class table, no tensor is
    dropped for its size, and the point head's fine-feature columns and the
    shared classes' rows start from the checkpoint."""
    from mmpointrend.datasets import generate_coco_shapes
    root = str(tmp_path / 'data') + '/'
    generate_coco_shapes(
        root,
        num_train=4,
        num_val=2,
        img_size=96,
        seed=5,
        shapes=('ring', 'cross', 'star'))
    src_path = osp.join(trained['work_dir'], 'iter_16.pth')
    cfg = osp.join(REPO,
                   'configs/demo/point-rend_r18-tiny_fpn_shapes_finetune.py')
    out = run_tool('tools/train.py', cfg, '--work-dir', tmp_path / 'work',
                   '--cfg-options', f'load_from={src_path}',
                   'train_cfg.max_iters=1', 'train_cfg.val_interval=2',
                   'optim_wrapper.optimizer.lr=0',
                   'default_hooks.checkpoint.interval=1',
                   'train_dataloader.num_workers=0',
                   *DATA_OPTS.format(root=root).split())
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'Loading weights of 4 classes into a model of 3' in log
    assert re.search(r'ring\s+ring \(same name\)', log)
    assert re.search(r'cross\s+initialised', log)
    assert 'size mismatch' not in log
    src = torch.load(src_path, weights_only=True)['state_dict']
    got = torch.load(
        tmp_path / 'work' / 'iter_1.pth', weights_only=True)['state_dict']
    w = 'roi_head.point_head.fcs.0.weight'
    assert got[w].shape == (64, 64 + 3, 1)
    assert torch.equal(got[w][:, :64], src[w][:, :64])
    # ring: source class 1 -> 0, star: 0 -> 2 (lr 0: nothing trained)
    assert torch.equal(got[w][:, 64], src[w][:, 64 + 1])
    assert torch.equal(got[w][:, 66], src[w][:, 64])


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


def _mask_agreement(a, b):
    """Per mask IoU of two (R, 1, S, S) logit maps thresholded at 0."""
    a, b = a > 0, b > 0
    inter = (a & b).flatten(1).sum(1).float()
    union = (a | b).flatten(1).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1),
                       torch.ones_like(union))


def test_bf16_autocast_masks_agree_with_fp32(trained, shapes_data):
    """CPU mixed precision (bf16 autocast, what --amp gives on the CPU):
    the subdivision keeps its logits, point selection and uncertainty in
    fp32, and the refined logits of the trained demo model follow fp32's on
    the same boxes; the masks agree wherever fp32 is clear of the threshold
    by more than bf16's error.

    (The 16-iteration model's logits are small, |logit| ~0.07 on average,
    so a mask IoU at threshold 0 would score the model's indecision rather
    than the bf16 path.)"""
    from mmdet.structures.bbox import bbox2roi
    from mmengine.dataset import Compose
    model = trained['runner'].model.eval()
    cfg = trained['runner'].cfg
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    refs, outs = [], []
    for i in range(4):
        data = pipeline(
            dict(img_path=f'{shapes_data}val/{i:05d}.png', img_id=i))
        batch = model.data_preprocessor(
            dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
            False)
        with torch.no_grad():
            x = model.extract_feat(batch['inputs'])
            det = model.roi_head.predict_bbox(
                x, [batch['data_samples'][0].metainfo],
                model.rpn_head.predict(x, batch['data_samples']),
                model.roi_head.test_cfg)[0][:10]
            rois = bbox2roi([det.bboxes])
            refs.append(model.roi_head.refine_masks(x, rois, det.labels))
            with torch.autocast('cpu', dtype=torch.bfloat16):
                outs.append(
                    model.roi_head.refine_masks(
                        model.extract_feat(batch['inputs']), rois, det.labels))
        assert outs[-1].dtype == torch.float32
    ref, out = torch.cat(refs), torch.cat(outs)
    assert len(ref) >= 20
    error = (out - ref).abs()
    corr = torch.corrcoef(torch.stack([ref.flatten(), out.flatten()]))[0, 1]
    clear = ref.abs() > 4 * error.mean()
    agree = ((ref > 0) == (out > 0))[clear].float().mean()
    ious = _mask_agreement(ref, out)
    print(f'bf16 vs fp32 over {len(ref)} masks: logit correlation '
          f'{corr:.5f}, mean |error| {error.mean():.5f} (mean |logit| '
          f'{ref.abs().mean():.4f}), sign agreement {agree:.5f} on the '
          f'{clear.float().mean():.3f} of pixels clear of the threshold, '
          f'mask IoU mean {ious.mean():.4f} / median {ious.median():.4f}')
    assert corr > 0.995
    assert error.mean() < 0.05 * ref.abs().mean()
    assert clear.float().mean() > 0.5 and agree > 0.999


def test_bf16_autocast_semantic_labels_agree_with_fp32():
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    head = MODELS.build(
        dict(
            type='PointRendSemanticHead',
            num_classes=5,
            in_channels=[16],
            in_index=[0])).eval()
    torch.nn.init.normal_(head.point_head.fc_logits.weight, std=0.3)
    feats = [torch.randn(2, 16, 32, 64)]
    coarse = torch.randn(2, 5, 16, 32) * 3
    metas = [dict(img_shape=(128, 256), pad_shape=(128, 256))] * 2
    cfg = dict(subdivision_num_points=512, subdivision_steps=None)
    with torch.no_grad():
        ref = head.predict(feats, coarse, metas, cfg)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = head.predict(feats, coarse.bfloat16(), metas, cfg)
    assert out.dtype == torch.float32  # selection ran on fp32 logits
    agreement = (ref.argmax(1) == out.argmax(1)).float().mean()
    print(f'bf16 vs fp32 semantic label agreement {agreement:.5f}')
    assert agreement > 0.99, agreement


def test_amp_on_cpu(shapes_data, tmp_path):
    """--amp without a GPU: a segmentor trains and tests under bf16 autocast
    (CPUBF16OptimWrapper; mmengine's AmpOptimWrapper asserts CUDA); a
    detector is refused with the reason (mmcv's CPU NMS has no bf16
    kernel) instead of a trace from inside mmcv."""
    from mmpointrend.datasets import generate_semantic_scenes
    if torch.cuda.is_available():
        pytest.skip('checks the CPU path')
    root = str(tmp_path / 'scenes') + '/'
    generate_semantic_scenes(root, 4, 2, seed=0)
    seg_cfg = osp.join(REPO,
                       'configs/demo/point-rend_fpn_r18-tiny_scenes-seg.py')
    opts = [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'default_hooks.logger.interval=1'
    ]
    work = tmp_path / 'seg'
    out = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools/train.py'), seg_cfg, '--amp', '--work-dir',
            str(work), '--cfg-options'
        ] + opts,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert 'CPUBF16OptimWrapper' in log and 'Iter(train) [2/2]' in log
    losses = [float(v) for v in re.findall(r' loss: ([\d.]+)', log)]
    assert losses and all(v == v and v < 1e3 for v in losses)
    out = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools/test.py'), seg_cfg,
            str(work / 'iter_2.pth'), '--amp', '--work-dir',
            str(tmp_path / 'test'), '--cfg-options'
        ] + opts,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert re.search(r'mIoU: -?\d', log)
    out = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/train.py'), DEMO_PR_CFG, '--amp', '--work-dir',
        str(tmp_path / 'det')
    ],
                         capture_output=True,
                         text=True,
                         cwd=REPO,
                         timeout=600)
    assert out.returncode != 0 and 'no bf16 kernel' in out.stderr
    assert 'Traceback' not in out.stderr
