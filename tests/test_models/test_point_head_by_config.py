"""A different point head plugs in by config alone: the instance and the
semantic model train with it (its weights move) and infer with it (it
predicts the subdivision points), no RoI / decode head code involved."""
import os.path as osp

import pytest
import torch
from helpers import DEMO_PR_CFG, REPO, load_demo_cfg
from mmengine.config import Config
from mmengine.runner import Runner

SEM_CFG = osp.join(REPO, 'configs/demo/point-rend_fpn_r18-tiny_scenes-seg.py')


def _short(cfg, work_dir, iters=3):
    cfg.custom_imports = dict(
        imports=['mmpointrend', 'toy_point_head'], allow_failed_imports=False)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.train_dataloader.batch_size = 2
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.test_dataloader = cfg.val_dataloader
    cfg.default_hooks.checkpoint.interval = iters
    cfg.randomness = dict(seed=0)
    return cfg


def _train_and_test(cfg, head_of):
    # through a config file, as a user would: its custom_imports register
    # the toy head (Config.fromfile imports them)
    path = osp.join(cfg.work_dir, 'toy.py')
    cfg.dump(path)
    runner = Runner.from_cfg(Config.fromfile(path))
    head = head_of(runner.model)
    assert type(head).__name__ == 'ToyPointHead'
    before = {k: v.clone() for k, v in head.state_dict().items()}
    runner.train()
    after = head.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    calls = head.calls
    metrics = runner.test()
    assert head.calls > calls  # subdivision asked the toy head
    return metrics


@pytest.mark.e2e
def test_instance_model_with_toy_point_head(shapes_data, tmp_path):
    cfg = _short(load_demo_cfg(DEMO_PR_CFG, shapes_data), str(tmp_path))
    cfg.model.roi_head.point_head = dict(
        type='ToyPointHead',
        num_classes=4,
        in_channels=cfg.model.roi_head.point_head.in_channels)
    cfg.model.test_cfg.rcnn.update(score_thr=0.0, max_per_img=10)
    metrics = _train_and_test(cfg, lambda m: m.roi_head.point_head)
    assert 'coco/segm_mAP' in metrics


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    from mmpointrend.datasets import generate_semantic_scenes
    root = tmp_path_factory.mktemp('scenes')
    generate_semantic_scenes(str(root), 4, 2, seed=0)
    return str(root) + '/'


@pytest.mark.e2e
def test_semantic_model_with_toy_point_head(scenes, tmp_path):
    cfg = _short(load_demo_cfg(SEM_CFG, scenes), str(tmp_path))
    cfg.model.decode_head[1].point_head = dict(type='ToyPointHead', hidden=16)
    metrics = _train_and_test(cfg, lambda m: m.decode_head[1].point_head)
    assert 'mIoU' in metrics
