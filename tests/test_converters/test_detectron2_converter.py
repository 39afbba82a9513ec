"""detectron2 model-zoo files (synthetic: the zoo's key names, shapes and
pickle layout, random values) convert and load with strict=True, land where
detectron2's forward would use them, and run through tools/test.py.

These cover what the authors' fixtures do not (the 2020 ``_version`` 1
layout, refusals); test_detectron2_golden.py checks real zoo layouts and
detectron2's own outputs."""
import os.path as osp
import pickle
import re
import subprocess
import sys

import detectron2_to_mmpointrend as tool
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from detectron2_layout import pointrend_instance, write_zoo_file
from helpers import REPO
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmpointrend.converters.detectron2 import (Detectron2FormatError,
                                               detectron2_to_mmpointrend,
                                               load_detectron2_checkpoint)

ZOO = {  # zoo model -> (config, generator kwargs)
    'R_50_FPN_1x_coco (v1 layout)': (
        'configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py',
        dict(version=1)),
    'R_50_FPN_1x_cityscapes': (
        'configs/point_rend/point-rend_r50-caffe_fpn_ms-24k_cityscapes.py',
        dict(num_classes=8)),
    'R_101_FPN_3x_coco': (
        'configs/point_rend/point-rend_r101-caffe_fpn_ms-3x_coco.py',
        dict(depth=101)),
    'X_101_32x8d_FPN_3x_coco': (
        'configs/point_rend/point-rend_x101-32x8d_fpn_ms-3x_coco.py',
        dict(depth=101, groups=32, width_per_group=8)),
}


def _build(config, scope='mmdet'):
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.backbone.init_cfg = None
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg.model).eval()


def _d2_point_head(d, prefix, fine, coarse):
    """StandardPointHead.forward written out from detectron2's source."""
    x = torch.cat([fine, coarse], 1)
    for i in (1, 2, 3):
        x = F.relu(
            F.conv1d(x, torch.from_numpy(d[f'{prefix}fc{i}.weight']),
                     torch.from_numpy(d[f'{prefix}fc{i}.bias'])))
        x = torch.cat([x, coarse], 1)
    return F.conv1d(x, torch.from_numpy(d[prefix + 'predictor.weight']),
                    torch.from_numpy(d[prefix + 'predictor.bias']))


@pytest.mark.parametrize('zoo_model', [
    pytest.param(name, marks=[] if 'R_50' in name else [pytest.mark.e2e])
    for name in ZOO
])  # R101 / X101 in the e2e tier
def test_zoo_instance_file_loads_strict_and_matches(zoo_model, tmp_path):
    config, kwargs = ZOO[zoo_model]
    d2 = pointrend_instance(**kwargs)
    src, dst = tmp_path / 'model_final.pkl', tmp_path / 'ours.pth'
    write_zoo_file(src, d2)
    # the tool loads into the config's model with strict=True and checks the
    # stored pixel mean / std against the config before it writes anything
    tool.main([str(src), str(dst), '--config', osp.join(REPO, config)])
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['converted_from'] == 'detectron2'
    model = _build(config)
    result = model.load_state_dict(ckpt['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    n_cls = kwargs.get('num_classes', 80)
    v1 = kwargs.get('version') == 1
    coarse = 'roi_heads.mask_coarse_head.' if v1 else \
        'roi_heads.mask_head.coarse_head.'
    point = 'roi_heads.mask_point_head.' if v1 else \
        'roi_heads.mask_head.point_head.'
    fc = 'coarse_mask_fc' if v1 else 'fc'
    g = torch.Generator().manual_seed(0)
    # coarse head: ConvFCHead.forward from detectron2's source
    x = torch.randn(3, 256, 14, 14, generator=g)
    w = {k: torch.from_numpy(v) for k, v in d2.items()}
    y = F.relu(
        F.conv2d(
            x,
            w[coarse + 'reduce_spatial_dim_conv.weight'],
            w[coarse + 'reduce_spatial_dim_conv.bias'],
            stride=2)).flatten(1)
    for i in (1, 2):
        y = F.relu(
            F.linear(y, w[f'{coarse}{fc}{i}.weight'],
                     w[f'{coarse}{fc}{i}.bias']))
    y = F.linear(y, w[coarse + 'prediction.weight'],
                 w[coarse + 'prediction.bias']).view(3, n_cls, 7, 7)
    with torch.no_grad():
        torch.testing.assert_close(model.roi_head.mask_head(x), y)
        fine = torch.randn(3, 256, 50, generator=g)
        coarse_f = torch.randn(3, n_cls, 50, generator=g)
        torch.testing.assert_close(
            model.roi_head.point_head(fine, coarse_f),
            _d2_point_head(d2, point, fine, coarse_f),
            rtol=1e-4,
            atol=1e-4)
        # box classifier keeps the background last, as detectron2
        feat = torch.randn(2, 1024, generator=g)
        torch.testing.assert_close(
            model.roi_head.bbox_head.fc_cls(feat),
            F.linear(feat, w['roi_heads.box_predictor.cls_score.weight'],
                     w['roi_heads.box_predictor.cls_score.bias']))
    # a backbone block (conv + frozen BN) and the stem landed in place
    torch.testing.assert_close(model.backbone.layer3[1].conv2.weight,
                               w['backbone.bottom_up.res4.1.conv2.weight'])
    torch.testing.assert_close(
        model.backbone.layer1[0].downsample[1].running_var,
        w['backbone.bottom_up.res2.0.shortcut.norm.running_var'])
    torch.testing.assert_close(model.neck.lateral_convs[3].conv.weight,
                               w['backbone.fpn_lateral5.weight'])
    torch.testing.assert_close(
        model.rpn_head.rpn_reg.bias, w['proposal_generator.rpn_head.'
                                       'anchor_deltas.bias'])


@pytest.mark.e2e
def test_tools_test_runs_on_a_converted_zoo_file(shapes_data, tmp_path):
    """The README's two steps: convert with --config, then tools/test.py."""
    # the zoo R50 COCO config, its test data swapped for the generated shapes
    cfg = Config.fromfile(
        osp.join(REPO,
                 'configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py'))
    demo = Config.fromfile(
        osp.join(REPO, 'configs/demo/mask-rcnn_r18-tiny_fpn_shapes.py'))
    cfg.model.backbone.init_cfg = None
    for head in ('bbox_head', 'mask_head', 'point_head'):
        cfg.model.roi_head[head].num_classes = 4
    cfg.model.test_cfg.rcnn.score_thr = 0.0  # random weights: keep boxes
    cfg.test_dataloader = demo.test_dataloader
    cfg.test_dataloader.update(num_workers=0, batch_size=2)
    cfg.test_dataloader.dataset.data_root = shapes_data
    cfg.test_evaluator = demo.test_evaluator
    for evaluator in cfg.test_evaluator:
        evaluator.ann_file = shapes_data + 'val.json'
    cfg_path = tmp_path / 'r50_d2zoo_shapes.py'
    cfg.dump(str(cfg_path))
    src, dst = tmp_path / 'model_final.pkl', tmp_path / 'ours.pth'
    write_zoo_file(src, pointrend_instance(num_classes=4))
    tool.main([str(src), str(dst), '--config', str(cfg_path)])
    out = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/test.py'),
        str(cfg_path),
        str(dst), '--work-dir',
        str(tmp_path / 'work')
    ],
                         capture_output=True,
                         text=True,
                         cwd=REPO,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'results of the whole dataset is empty' not in log
    assert re.search(r'coco/segm_mAP: -?\d', log)


def test_preprocessing_mismatch_is_refused(tmp_path):
    # the X101 file says std (57.375, ...); the R50 config says std 1 and
    # its depth/groups differ, so strict loading stops it first: use R101
    d2 = pointrend_instance(depth=101)
    d2['pixel_std'] = np.array([57.375, 57.12, 58.395],
                               np.float32).reshape(3, 1, 1)
    src = tmp_path / 'model_final.pkl'
    write_zoo_file(src, d2)
    with pytest.raises(SystemExit, match='std'):
        tool.main([
            str(src),
            str(tmp_path / 'o.pth'), '--config',
            osp.join(REPO, ZOO['R_101_FPN_3x_coco'][0])
        ])
    assert not (tmp_path / 'o.pth').exists()


def test_wrong_config_is_refused_before_writing(tmp_path):
    src = tmp_path / 'model_final.pkl'
    write_zoo_file(src, pointrend_instance(num_classes=8))  # Cityscapes file
    with pytest.raises(SystemExit, match='size mismatch'):
        tool.main([
            str(src),
            str(tmp_path / 'o.pth'), '--config',
            osp.join(REPO, ZOO['R_50_FPN_1x_coco (v1 layout)'][0])
        ])
    assert not (tmp_path / 'o.pth').exists()


class _Payload:

    def __reduce__(self):
        return (print, ('code ran', ))


def test_pickle_with_code_is_refused(tmp_path):
    src = tmp_path / 'evil.pkl'
    with open(src, 'wb') as f:
        pickle.dump(dict(model={'x': _Payload()}, __author__='x'), f)
    with pytest.raises(pickle.UnpicklingError, match='builtins.print'):
        load_detectron2_checkpoint(str(src))


def test_unknown_and_unsupported_keys_are_named():
    d2 = pointrend_instance()
    d2['roi_heads.keypoint_head.conv1.weight'] = np.zeros((1, ), np.float32)
    with pytest.raises(
            Detectron2FormatError, match='keypoint_head.conv1.weight'):
        detectron2_to_mmpointrend(d2)
    d2 = pointrend_instance()
    d2['roi_heads.mask_head.coarse_head.reduce_channel_dim_conv.weight'] = \
        np.zeros((1, ), np.float32)
    with pytest.raises(Detectron2FormatError, match='reduce_channel_dim'):
        detectron2_to_mmpointrend(d2)
    with pytest.raises(Detectron2FormatError, match='not a detectron2'):
        detectron2_to_mmpointrend(
            {'backbone.bottom_up.stem.conv1.weight': np.zeros(1)})


def test_caffe2_and_truncated_files_are_named(tmp_path):
    blobs = tmp_path / 'c2.pkl'
    with open(blobs, 'wb') as f:
        pickle.dump(dict(blobs={'conv1_w': np.zeros(1)}), f)
    with pytest.raises(Detectron2FormatError, match='Caffe2'):
        load_detectron2_checkpoint(str(blobs))
    good = tmp_path / 'good.pkl'
    write_zoo_file(good, pointrend_instance())
    cut = tmp_path / 'cut.pkl'
    cut.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(Detectron2FormatError, match='not a readable pickle'):
        load_detectron2_checkpoint(str(cut))
