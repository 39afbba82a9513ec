"""PointRend on RTMDet-Ins (the shipped tiny config, on the CPU): the point
loss trains beside mmdet's losses, masks are image-sized, and against the
host's own post-processing (mmdet's ``_bbox_mask_post_process`` on the same
instances) the masks differ only near the boundaries."""
import os.path as osp

import numpy as np
import pytest
import torch
from helpers import REPO, cpu_model_cfg, det_sample
from mmdet.models.dense_heads import RTMDetInsSepBNHead
from mmdet.registry import MODELS
from mmengine.config import Config, ConfigDict
from mmengine.structures import InstanceData

TINY = osp.join(
    REPO, 'configs/point_rend_dense/'
    'point-rend_rtmdet-ins_tiny_8xb32-300e_coco.py')


@pytest.fixture(scope='module')
def model():
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    m = MODELS.build(cpu_model_cfg(Config.fromfile(TINY).model, 5))
    m.init_weights()
    return m


def test_point_loss_trains_beside_the_host_losses(model):
    model.train()
    samples = [det_sample(seed=0), det_sample(seed=1, polygons=False)]
    x = torch.randn(2, 3, 256, 256)
    losses = model.loss(x, samples)
    assert {'loss_cls', 'loss_bbox', 'loss_mask', 'loss_point'} <= set(losses)
    assert losses['loss_point'].item() > 0
    model.zero_grad()
    losses['loss_point'].backward()
    head = model.bbox_head
    assert head.point_head.fcs[0].weight.grad.abs().sum() > 0
    # the point loss reaches the host's mask branch through the coarse logit
    assert head.mask_head.projection.weight.grad.abs().sum() > 0
    keys = set(model.state_dict())
    assert any(k.startswith('bbox_head.point_head.') for k in keys)
    assert any(k.startswith('neck.neck.') for k in keys)


def test_images_without_instances(model):
    model.train()
    samples = [det_sample(seed=3, num_gt=0), det_sample(seed=4, num_gt=0)]
    losses = model.loss(torch.randn(2, 3, 128, 128), samples)
    assert losses['loss_point'].item() == 0
    losses['loss_point'].backward()


def test_masks_are_image_sized_and_empty_output(model):
    model.eval()
    sample = det_sample(seed=2)
    sample.set_metainfo(dict(ori_shape=(128, 128), scale_factor=(2.0, 2.0)))
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 256, 256), [sample])[0]
    inst = out.pred_instances
    assert inst.masks.shape[1:] == (128, 128) and inst.masks.dtype == \
        torch.bool
    head = model.bbox_head
    thr = head.test_cfg.score_thr
    head.test_cfg.score_thr = 1.1  # nothing passes
    try:
        with torch.no_grad():
            empty = model.predict(
                torch.randn(1, 3, 256, 256),
                [det_sample(seed=2)])[0].pred_instances
    finally:
        head.test_cfg.score_thr = thr
    assert empty.masks.shape == (0, 256, 256)


def _disk_logits(priors, radii, hw, stride):
    """Host logits of one disk per instance: ``8 * (r - d) / stride``."""
    h, w = hw
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) * stride
    d = ((xs[None, None] - priors[:, 0, None, None])**2 +
         (ys[None, :, None] - priors[:, 1, None, None])**2).sqrt()
    return 8 * (radii[:, None, None] - d) / stride


def test_refined_masks_differ_from_the_host_only_at_boundaries(model):
    head = model.bbox_head.eval()
    torch.manual_seed(1)
    torch.nn.init.normal_(head.point_head.fc_logits.weight, std=0.3)
    stride, (h, w) = 8, (40, 40)  # a 320x320 input
    centres = torch.tensor([[80., 80.], [220., 100.], [150., 230.]])
    radii = torch.tensor([50., 40., 60.])
    boxes = torch.cat([centres - radii[:, None], centres + radii[:, None]], 1)
    results = InstanceData(
        bboxes=boxes,
        priors=torch.cat([centres, torch.full((3, 2), 8.)], 1),
        scores=torch.tensor([0.9, 0.8, 0.7]),
        labels=torch.tensor([0, 1, 2]),
        kernels=torch.zeros(3, head.num_gen_params))
    meta = dict(
        img_shape=(320, 320), ori_shape=(320, 320), scale_factor=(1., 1.))
    cfg = ConfigDict(head.test_cfg)
    mask_feat = torch.zeros(head.num_prototypes, h, w)
    fine = torch.randn(1, head.mask_refiner.point_head.in_channels, 80, 80)
    original = head._mask_predict_by_feat_single
    head._mask_predict_by_feat_single = (
        lambda feat, kernels, priors: _disk_logits(priors, radii[:len(priors)],
                                                   (h, w), stride))
    try:
        with torch.no_grad():
            host = RTMDetInsSepBNHead._bbox_mask_post_process(
                head, results.clone(), mask_feat, cfg, True, True, meta)
            ours = head.post_process_image(results.clone(), mask_feat, fine,
                                           cfg, meta)
    finally:
        head._mask_predict_by_feat_single = original
    assert torch.equal(ours.bboxes, host.bboxes)
    assert ours.masks.shape == host.masks.shape == (3, 320, 320)
    ys, xs = np.mgrid[:320, :320] + 0.5
    for i in range(3):
        d = np.hypot(xs - centres[i, 0].item(), ys - centres[i, 1].item())
        near = np.abs(d - radii[i].item()) < 2 * stride
        diff = (ours.masks[i] != host.masks[i]).numpy()
        assert not diff[~near].any()  # equal away from the boundary
        assert diff[near].any()  # the point head redrew the boundary


def test_onnx_export_refuses_the_host_by_name(model, tmp_path):
    from mmpointrend.deploy import DetectorGraph
    with pytest.raises(NotImplementedError, match='PointRendRTMDetInsHead'):
        DetectorGraph(model)
