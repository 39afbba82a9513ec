"""PointSampledMaskLoss: the inner loss at importance-sampled points, the
logits read as the host upsamples them and the masks at full resolution;
points gather at the boundary; and RTMDet-Ins trains with it as its own
mask loss (no PointRend head needed)."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from helpers import REPO, cpu_model_cfg, det_sample
from mmdet.registry import MODELS
from mmengine.config import Config

from mmpointrend.models.losses import PointSampledMaskLoss
from mmpointrend.models.uncertainty import build_uncertainty
from mmpointrend.models.utils import point_sample, sample_training_points


def _disk(n, side, scale):
    ys, xs = torch.meshgrid(
        torch.arange(side) + 0.5, torch.arange(side) + 0.5, indexing='ij')
    r = torch.linspace(0.2, 0.35, n)[:, None, None] * side
    return (r - ((xs - side / 2)**2 + (ys - side / 2)**2).sqrt()) * scale


def test_loss_is_the_inner_loss_at_the_sampled_points():
    loss = PointSampledMaskLoss(
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True), num_points=500)
    logits = _disk(3, 16, 0.5).requires_grad_()
    masks = _disk(3, 128, 1.0) > 0  # full resolution (8x)
    torch.manual_seed(0)
    got = loss(logits, masks)
    torch.manual_seed(0)
    points = sample_training_points(logits[:, None].detach(),
                                    build_uncertainty('binary_uncertainty'),
                                    500, 3, 0.75)
    labels = point_sample(masks[:, None].float(), points)[:, 0]
    # at a pixel centre the logit read is the host's upsampled pixel
    up = F.interpolate(
        logits[:, None].detach(), scale_factor=8, mode='bilinear')[:, 0]
    pixels = torch.randint(0, 128, (3, 50, 2))
    centres = (pixels + 0.5) / 128
    read = point_sample(
        logits[:, None].detach(), centres, padding_mode='border')[:, 0]
    rows = torch.arange(3)[:, None]
    assert torch.allclose(
        read, up[rows, pixels[..., 1], pixels[..., 0]], atol=1e-5)
    at = point_sample(
        logits[:, None].detach(), points, padding_mode='border')[:, 0]
    expected = F.binary_cross_entropy_with_logits(at, labels)
    assert torch.allclose(got, expected, atol=1e-6)
    got.backward()
    assert logits.grad.abs().sum() > 0


def test_points_gather_at_the_boundary():
    logits = _disk(4, 32, 2.0)
    points = sample_training_points(logits[:, None],
                                    build_uncertainty('binary_uncertainty'),
                                    256, 3, 0.75)
    important = point_sample(logits[:, None], points[:, :192])[:, 0].abs()
    random = point_sample(logits[:, None], points[:, 192:])[:, 0].abs()
    assert important.mean() < 0.3 * random.mean()


def test_no_instances_and_mismatched_counts():
    loss = PointSampledMaskLoss()
    logits = torch.zeros(0, 8, 8, requires_grad=True)
    out = loss(logits, torch.zeros(0, 64, 64, dtype=torch.bool))
    assert out.item() == 0
    out.backward()
    with pytest.raises(ValueError, match='2 mask logits but 3'):
        loss(torch.zeros(2, 8, 8), torch.zeros(3, 64, 64))
    # merged with a host's DiceLoss config by mistake: the fix is named
    with pytest.raises(TypeError, match='_delete_=True'):
        PointSampledMaskLoss(loss_weight=2.0, eps=5e-6)


def test_rtmdet_ins_trains_with_it_as_its_mask_loss():
    cfg = Config.fromfile(
        osp.join(
            REPO, 'configs/point_rend_dense/'
            'point-rend_rtmdet-ins_tiny_8xb32-300e_coco.py')).model
    cfg.backbone.out_indices = (2, 3, 4)
    cfg.neck = cfg.neck.neck
    cfg.bbox_head.point_rend = None
    cfg.bbox_head.loss_mask = dict(type='PointSampledMaskLoss', num_points=64)
    model = MODELS.build(cpu_model_cfg(cfg, 5))
    model.init_weights()
    losses = model.loss(
        torch.randn(2, 3, 128, 128),
        [det_sample(seed=0, img_size=128),
         det_sample(seed=1, img_size=128)])
    assert 'loss_point' not in losses and losses['loss_mask'].item() > 0
    losses['loss_mask'].backward()
    assert model.bbox_head.mask_head.projection.weight.grad.abs().sum() > 0
