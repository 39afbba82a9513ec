"""PointRend on Mask2Former (the shipped config, on the CPU): the point loss
trains on the last decoder layer's matched queries beside mmdet's losses,
masks are image-sized with boxes from the masks, and against mmdet's own
instance post-processing of the same queries the masks differ only near the
boundaries."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import REPO, cpu_model_cfg
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

M2F = osp.join(
    REPO, 'configs/point_rend_dense/'
    'point-rend_mask2former_r50_8xb2-lsj-50e_coco.py')


@pytest.fixture(scope='module')
def model():
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = cpu_model_cfg(Config.fromfile(M2F).model)
    cfg.data_preprocessor.batch_augments = None  # no 1024x1024 padding
    torch.manual_seed(0)
    m = MODELS.build(cfg)
    m.init_weights()
    return m


def _inputs():
    torch.manual_seed(0)
    return demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 128, 160), (3, 128, 160)],
        num_items=[3, 2],
        num_classes=80,
        with_mask=True)


@pytest.mark.e2e  # a training step of R50 Mask2Former: seconds on 2 cores
def test_point_loss_trains_beside_the_host_losses(model):
    head = model.panoptic_head
    # PointRend's initialisation, which mmdet's init_weights would skip
    assert head.point_head.fc_logits.weight.std() < 0.01
    model.train()
    losses = model(**model.data_preprocessor(_inputs(), True), mode='loss')
    assert {'loss_cls', 'loss_mask', 'loss_dice', 'loss_point'} <= set(losses)
    assert losses['loss_point'].item() > 0
    model.zero_grad()
    losses['loss_point'].backward()
    assert head.point_head.fcs[0].weight.grad.abs().sum() > 0
    # through the coarse logit and the fine map to the host's layers
    assert head.mask_embed[0].weight.grad.abs().sum() > 0
    assert any(
        k.startswith('panoptic_head.point_head.') for k in model.state_dict())


@pytest.mark.e2e
def test_masks_are_image_sized_boxes_come_from_them(model):
    model.eval()
    packed = _inputs()
    with torch.no_grad():
        results = model(
            **model.data_preprocessor(packed, False), mode='predict')
    for res, sample in zip(results, packed['data_samples']):
        inst = res.pred_instances
        assert inst.masks.shape[1:] == sample.ori_shape
        assert len(inst) == 100
        nonempty = inst.masks.flatten(1).any(1)
        from mmdet.structures.mask import mask2bbox
        assert torch.equal(inst.bboxes, mask2bbox(inst.masks))
        assert (inst.bboxes[~nonempty] == 0).all()


def test_panoptic_output_is_refused_by_name(model):
    cfg = model.panoptic_fusion_head.test_cfg
    cfg.panoptic_on = True
    try:
        with pytest.raises(ValueError, match='panoptic_on=False'):
            model.predict(
                torch.zeros(1, 3, 64, 64),
                _inputs()['data_samples'][:1])
    finally:
        cfg.panoptic_on = False


def test_refined_masks_differ_from_the_host_only_at_boundaries(model):
    """The same queries through mmdet's instance post-processing (every
    query upsampled to the image) and ours (refined in the box)."""
    head = model.panoptic_head.eval()
    fusion = model.panoptic_fusion_head
    torch.manual_seed(1)
    torch.nn.init.normal_(head.point_head.fc_logits.weight, std=0.3)
    q, (h, w) = 100, (64, 80)  # a 256x320 input at stride 4
    centres = torch.rand(q, 2) * torch.tensor([200., 150.]) + 60
    radii = torch.rand(q) * 30 + 15
    ys = (torch.arange(h) + 0.5) * 4
    xs = (torch.arange(w) + 0.5) * 4
    d = ((xs[None, None] - centres[:, 0, None, None])**2 +
         (ys[None, :, None] - centres[:, 1, None, None])**2).sqrt()
    mask_pred = 2 * (radii[:, None, None] - d) / 4
    mask_cls = torch.randn(q, 81)
    meta = dict(
        img_shape=(256, 320), ori_shape=(256, 320), scale_factor=(1., 1.))
    fine = torch.randn(1, 256, h, w)
    keep = fusion.test_cfg.max_per_image
    fusion.test_cfg.max_per_image = 20  # 20 instances are enough here
    try:
        with torch.no_grad():
            up = F.interpolate(
                mask_pred[None],
                size=(256, 320),
                mode='bilinear',
                align_corners=False)[0]
            host = fusion.instance_postprocess(mask_cls, up)
            with head.mask_refiner.reading(fine):
                ours = head.predict_instances(mask_cls, mask_pred, 0, meta,
                                              fusion.test_cfg,
                                              fusion.num_things_classes, True)
    finally:
        fusion.test_cfg.max_per_image = keep
    assert len(ours) == 20
    assert torch.equal(ours.labels, host.labels)
    ys, xs = np.mgrid[:256, :320] + 0.5
    changed = 0
    for i in range(len(ours)):
        diff = (ours.masks[i] != host.masks[i]).numpy()
        changed += int(diff.sum())
        # the instance's disk: pixels away from its circle are equal
        q_idx = _query_of(host, i, up)
        dist = np.hypot(xs - centres[q_idx, 0].item(),
                        ys - centres[q_idx, 1].item())
        near = np.abs(dist - radii[q_idx].item()) < 2 * 4
        assert not diff[~near].any(), i
    assert changed > 0  # the point head redrew boundaries


def _query_of(host, i, up):
    """The query whose upsampled mask is host instance ``i``'s."""
    binary = up > 0
    return int((binary == host.masks[i]).flatten(1).all(1).nonzero()[0])
