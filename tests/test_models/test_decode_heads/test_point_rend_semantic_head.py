import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import MODELS as SEG_MODELS
from mmseg.structures import SegDataSample

from mmpointrend.models import PointRendSemanticHead
from mmpointrend.models.utils import margin_uncertainty, point_sample


def _head(**kw):
    args = dict(num_classes=5, in_channels=[8], in_index=[0], channels=16)
    args.update(kw)
    with DefaultScope.overwrite_default_scope('mmseg'):
        head = PointRendSemanticHead(**args)
    head.init_weights()
    torch.nn.init.normal_(head.point_head.fc_logits.weight, std=0.3)
    return head


def _samples(n, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, 5, (1, h, w), generator=g))
        s.set_metainfo(
            dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        out.append(s)
    return out


def test_loss_shapes_gradients_and_ignore_label():
    head = _head()
    feats = [torch.randn(2, 8, 16, 32, requires_grad=True)]
    coarse = torch.randn(2, 5, 8, 16, requires_grad=True)
    samples = _samples(2, 64, 128)
    cfg = dict(num_points=64, oversample_ratio=3, importance_sample_ratio=0.75)
    losses = head.loss(feats, coarse, samples, cfg)
    assert set(losses) == {'loss_point', 'acc_point'}
    losses['loss_point'].backward()
    assert feats[0].grad.abs().sum() > 0 and coarse.grad.abs().sum() > 0
    # every point on the ignore label: nothing counts
    for s in samples:
        s.gt_sem_seg.data[:] = 255
    losses = head.loss(feats, coarse, samples, cfg)
    assert losses['loss_point'].item() == 0


def test_point_labels_are_pixel_labels():
    gt = torch.arange(12).reshape(1, 1, 3, 4)
    pts = torch.tensor([[[0.01, 0.01], [0.99, 0.99], [0.3, 0.5]]])
    labels = PointRendSemanticHead._point_labels(gt, pts)
    assert labels.tolist() == [[0, 11, 5]]


def test_uncertainty_ranks_ambiguous_pixels_first():
    logits = torch.zeros(1, 3, 1, 4)
    logits[0, 0] = torch.tensor([5.0, 1.0, 0.3, 3.0])
    logits[0, 1] = torch.tensor([0.0, 0.9, 0.1, 0.0])
    order = margin_uncertainty(logits)[0, 0].argsort(descending=True)
    assert order.tolist() == [1, 2, 3, 0]


def test_predict_reaches_input_resolution_and_batches_equal_loop():
    head = _head().eval()
    feats = [torch.randn(3, 8, 16, 32)]
    coarse = torch.randn(3, 5, 8, 16)
    metas = [dict(img_shape=(64, 128), pad_shape=(64, 128))] * 3
    cfg = dict(
        subdivision_num_points=100, scale_factor=2, subdivision_steps=None)
    with torch.no_grad():
        out = head.predict(feats, coarse, metas, cfg)
        assert out.shape == (3, 5, 64, 128)
        for i in range(3):
            one = head.predict([feats[0][i:i + 1]], coarse[i:i + 1], metas[:1],
                               cfg)
            assert torch.allclose(out[i:i + 1], one, atol=1e-5)
        # refinement changed the bilinear upsampling in the uncertain spots
        up = torch.nn.functional.interpolate(
            coarse, (64, 128), mode='bilinear')
        assert (out - up).abs().max() > 0.1
        # non-power-of-two target: the last step lands on it exactly
        metas2 = [dict(img_shape=(60, 100), pad_shape=(60, 100))] * 3
        assert head.predict(feats, coarse, metas2, cfg).shape[-2:] == (60, 100)


def test_bad_config_errors():
    with pytest.raises(ValueError, match='align_corners'):
        _head(align_corners=True)
    with pytest.raises(ValueError, match='one entry per level'):
        _head(in_channels=[8, 8])
    head = _head()
    with pytest.raises(ValueError, match='expects in_channels'):
        head.predict([torch.zeros(1, 4, 8, 8)],
                     torch.zeros(1, 5, 4, 4), [dict(img_shape=(32, 32))],
                     dict(subdivision_num_points=10))


def _mmseg_point_head(ours):
    with DefaultScope.overwrite_default_scope('mmseg'):
        theirs = SEG_MODELS.build(
            dict(
                type='PointHead',
                in_channels=[8],
                in_index=[0],
                channels=16,
                num_fcs=3,
                coarse_pred_each_layer=True,
                dropout_ratio=-1,
                num_classes=5,
                align_corners=False))
    src = ours.point_head
    for a, b in zip(src.fcs, theirs.fcs):
        b.conv.load_state_dict(a.state_dict())
    theirs.fc_seg.load_state_dict(src.fc_logits.state_dict())
    return theirs.eval()


def test_equals_mmseg_point_head_with_same_weights():
    torch.manual_seed(0)
    ours = _head().eval()
    theirs = _mmseg_point_head(ours)
    feats = [torch.randn(2, 8, 32, 64)]
    coarse = torch.randn(2, 5, 16, 32)
    metas = [dict(img_shape=(128, 256), pad_shape=(128, 256))] * 2
    cfg = ConfigDict(
        subdivision_steps=3, subdivision_num_points=500, scale_factor=2)
    with torch.no_grad():
        a = ours.predict(feats, coarse, metas, cfg)
        b = theirs.predict(feats, coarse, copy.deepcopy(metas), cfg)
        auto = ours.predict(feats, coarse, metas,
                            dict(cfg, subdivision_steps=None))
    assert a.shape == b.shape == (2, 5, 128, 256)
    assert torch.allclose(a, b, atol=1e-4)
    assert torch.equal(a.argmax(1), b.argmax(1))
    assert torch.allclose(auto, a, atol=1e-5)
    # and the point MLP itself
    pts = torch.rand(2, 40, 2)
    ref = theirs(point_sample(feats[0], pts), point_sample(coarse, pts))
    assert torch.allclose(
        ours.point_head(
            point_sample(feats[0], pts), point_sample(coarse, pts)),
        ref,
        atol=1e-5)


def test_point_selection_stays_fp32_under_autocast(monkeypatch):
    import mmpointrend.models.decode_heads.point_rend_semantic_head as mod
    seen = []
    original = mod.sample_training_points

    def spy(logits, *args):
        seen.append(logits.dtype)
        return original(logits, *args)

    monkeypatch.setattr(mod, 'sample_training_points', spy)
    head = _head()
    feats = [torch.randn(2, 8, 16, 32)]
    samples = _samples(2, 64, 128)
    cfg = dict(num_points=32, oversample_ratio=3, importance_sample_ratio=0.75)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        coarse = torch.randn(2, 5, 8, 16).bfloat16()
        losses = head.loss([feats[0].bfloat16()], coarse, samples, cfg)
    assert seen == [torch.float32]
    assert torch.isfinite(losses['loss_point'])


def test_image_smaller_than_the_crop_trains(tmp_path):
    """mmseg's RandomCrop keeps a small image whole and the data
    preprocessor pads it (label 255) to the crop size: the cascade with the
    PointRend head trains on it."""
    import os.path as osp

    import numpy as np
    from helpers import REPO
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmseg.datasets.transforms import PackSegInputs, RandomCrop
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/demo/point-rend_fpn_r18-tiny_scenes-seg.py'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = revert_sync_batchnorm(SEG_MODELS.build(cfg.model)).train()
    crop_size = tuple(cfg.crop_size)
    rng = np.random.default_rng(0)
    results = dict(
        img=rng.integers(0, 255, (64, 100, 3), dtype=np.uint8),
        gt_seg_map=rng.integers(0, 8, (64, 100), dtype=np.uint8),
        seg_fields=['gt_seg_map'],
        img_shape=(64, 100),
        ori_shape=(64, 100))
    results = RandomCrop(crop_size=crop_size)(results)
    assert results['img'].shape[:2] == (64, 100)
    packed = PackSegInputs(meta_keys=('img_shape', 'ori_shape'))(results)
    batch = dict(
        inputs=[packed['inputs']] * 2,
        data_samples=[packed['data_samples']] * 2)
    with DefaultScope.overwrite_default_scope('mmseg'):
        data = model.data_preprocessor(batch, True)
        assert data['inputs'].shape[-2:] == crop_size
        losses = model(**data, mode='loss')
    assert torch.isfinite(losses['decode_1.loss_point'])
