"""Implicit PointRend: the dynamic MLP against a per-box loop written from
the paper, training and inference by config on generated data, ONNX export
of its mask graph, and subdivision pictures."""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from helpers import DEMO_PR_CFG, load_demo_cfg
from mmengine.config import Config
from mmengine.runner import Runner

from mmpointrend.models.mask_heads import PointRendImplicitPointHead


def _reference(head, fine, points, params):
    """One box at a time: unpack its parameters (all weights, then all
    biases, layer by layer) and run the MLP on [pos. enc., features]."""
    out = []
    for r in range(len(params)):
        enc = 2 * math.pi * (
            (2 * points[r] - 1) @ head.positional_encoding_gaussian_matrix)
        x = torch.cat([enc.sin(), enc.cos(), fine[r].t()], 1)  # (P, C_in)
        offset, weights = 0, []
        for o, i in head.layer_shapes:
            weights.append(params[r, offset:offset + o * i].reshape(o, i))
            offset += o * i
        for k, (w, (o, _)) in enumerate(zip(weights, head.layer_shapes)):
            x = F.linear(x, w, params[r, offset:offset + o])
            offset += o
            if k < len(weights) - 1:
                x = F.relu(x)
        out.append(x.t())
    return torch.stack(out)


def test_dynamic_mlp_equals_per_box_loop():
    torch.manual_seed(0)
    head = PointRendImplicitPointHead(
        num_classes=5, in_channels=8, channels=6, num_layers=3)
    assert head.num_params == (264 * 6 + 6) + (6 * 6 + 6) + (6 * 5 + 5)
    fine = torch.randn(4, 8, 11)
    points = torch.rand(4, 11, 2)
    params = torch.randn(4, head.num_params) * 0.3
    ref = _reference(head, fine, points, params)
    torch.testing.assert_close(head(fine, points, params), ref)
    labels = torch.tensor([0, 4, 2, 2])
    torch.testing.assert_close(
        head(fine, points, params, labels)[:, 0], ref[torch.arange(4), labels])
    assert head(fine[:0], points[:0], params[:0]).shape == (0, 5, 11)


def _implicit_demo_cfg(shapes_data, work_dir):
    cfg = load_demo_cfg(DEMO_PR_CFG, shapes_data, work_dir)
    roi = cfg.model.roi_head
    roi.mask_head = dict(
        type='PointRendParameterHead',
        in_channels=64,
        roi_feat_size=14,
        conv_out_channels=64,
        num_fcs=2,
        fc_out_channels=128)
    roi.point_head = dict(
        type='PointRendImplicitPointHead',
        in_channels=64,
        channels=16,
        num_layers=3)
    cfg.model.train_cfg.rcnn.update(point_sampling='uniform')
    cfg.model.test_cfg.rcnn.update(
        subdivision_steps=3, score_thr=0.0, max_per_img=10)
    cfg.train_cfg.update(max_iters=3, val_interval=100)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.default_hooks.checkpoint.interval = 3
    cfg.randomness = dict(seed=0)
    path = osp.join(work_dir, 'implicit.py')
    cfg.dump(path)
    return Config.fromfile(path)


@pytest.mark.e2e
def test_implicit_trains_infers_exports_and_draws(shapes_data, tmp_path):
    from mmpointrend.apis import init_model
    from mmpointrend.deploy import (check_detector, check_instance,
                                    export_detector, export_instance)
    from mmpointrend.visualization import instance_subdivision_pictures
    runner = Runner.from_cfg(_implicit_demo_cfg(shapes_data, str(tmp_path)))
    model = runner.model
    params_before = model.roi_head.mask_head.predictor.weight.clone()
    runner.train()
    losses = runner.message_hub.log_scalars
    assert 'train/loss_params_l2' in losses and 'train/loss_point' in losses
    assert 'train/loss_mask' not in losses  # no coarse mask to supervise
    assert not torch.equal(params_before,
                           model.roi_head.mask_head.predictor.weight)
    metrics = runner.test()
    assert 'coco/segm_mAP' in metrics
    img = osp.join(shapes_data, 'val', '00000.png')
    # the trained checkpoint, loaded as the tools load it
    model = init_model(
        osp.join(str(tmp_path), 'implicit.py'),
        osp.join(str(tmp_path), 'iter_3.pth'))
    model.roi_head.test_cfg.update(score_thr=0.0)
    exported = export_instance(
        None,
        None,
        img,
        str(tmp_path / 'impl.onnx'),
        num_boxes=4,
        score_thr=0.0,
        model=model)
    report = check_instance(model, str(tmp_path / 'impl.onnx'), exported)
    assert report['mask_mismatch'] == 0.0 and report['max_abs_diff'] < 1e-3
    # the whole detector too (the parameter head, dynamic box count)
    export_detector(model, img, str(tmp_path / 'impl_det.onnx'))
    report = check_detector(model, str(tmp_path / 'impl_det.onnx'), img)
    assert report['num_onnx'] == report['num_pytorch'] > 0
    assert report['match_fraction'] == 1.0 and report['min_mask_iou'] > 0.99
    paths = instance_subdivision_pictures(
        model, img, str(tmp_path / 'pictures'), max_objects=1, score_thr=0.0)
    assert len(paths) == 1 and osp.getsize(paths[0]) > 0
