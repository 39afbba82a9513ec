"""Same weights, same inputs: our subdivision equals MMDetection's own head."""
import copy

import torch
from helpers import feats, random_boxes, small_roi_head_cfg
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData


def _mmdet_cfg(ours):
    cfg = copy.deepcopy(ours)
    cfg.type = 'PointRendRoIHead'
    cfg.mask_roi_extractor = dict(
        type='GenericRoIExtractor',
        aggregation='concat',
        roi_layer=dict(type='SimpleRoIAlign', output_size=14),
        out_channels=16,
        featmap_strides=[4])
    cfg.mask_head = dict(
        type='CoarseMaskHead',
        num_fcs=2,
        in_channels=16,
        conv_out_channels=16,
        fc_out_channels=64,
        num_classes=5,
        loss_mask=dict(
            type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
    cfg.point_head = dict(
        type='MaskPointHead',
        num_fcs=3,
        in_channels=16,
        fc_channels=16,
        num_classes=5,
        coarse_pred_each_layer=True,
        loss_point=dict(
            type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
    cfg.train_cfg.pop('point_sampling', None)
    return ConfigDict(cfg)


def _copy_weights(ours, theirs):
    from mmpointrend.converters import (mmdet_to_mmpointrend,
                                        mmpointrend_to_mmdet)
    converted = mmpointrend_to_mmdet(ours.state_dict(), prefix='')
    theirs.load_state_dict(converted, strict=True)
    back = mmdet_to_mmpointrend(theirs.state_dict(), prefix='')
    assert set(back) == set(ours.state_dict())


def _results(counts, img_size):
    out = []
    for i, n in enumerate(counts):
        r = InstanceData()
        r.bboxes = random_boxes(n, img_size, seed=10 + i)
        r.labels = (torch.arange(n) * 3 + i) % 5
        r.scores = torch.rand(n)
        out.append(r)
    return out


def test_masks_equal_mmdet_point_rend_roi_head():
    torch.manual_seed(0)
    ours_cfg = small_roi_head_cfg()
    ours = MODELS.build(ours_cfg).eval()
    ours.init_weights()
    # larger predictor weights so that refinement really changes the masks
    torch.nn.init.normal_(ours.point_head.fc_logits.weight, std=0.3)
    torch.nn.init.normal_(ours.mask_head.predictor.weight, std=0.05)
    theirs = MODELS.build(_mmdet_cfg(ours_cfg)).eval()
    _copy_weights(ours, theirs)

    img = 256
    x = feats(batch=3, size=64)  # P2 of a 256x256 input
    metas = [
        dict(
            img_shape=(img, img),
            ori_shape=(img // 2, img // 2),
            scale_factor=(2.0, 2.0)) for _ in range(3)
    ]
    # (mmdet's head asserts on an image without boxes; ours handles it, see
    # test_point_rend_instance_head.py, so the comparison uses non-empty ones)
    counts = [6, 1, 4]
    with torch.no_grad():
        a = ours.predict_mask(x, metas, _results(counts, img), rescale=True)
        b = theirs.predict_mask(
            x, copy.deepcopy(metas), _results(counts, img), rescale=True)
    for ra, rb in zip(a, b):
        assert ra.masks.shape == rb.masks.shape
        assert torch.allclose(ra.bboxes, rb.bboxes)
        differ = (ra.masks != rb.masks).float().mean().item()
        assert differ < 1e-4, differ
    assert sum(int(r.masks.sum()) for r in a) > 0

    # and the refined logits themselves, before pasting
    rois = torch.cat([torch.zeros(6, 1), random_boxes(6, img, seed=10)], 1)
    labels = (torch.arange(6) * 3) % 5
    with torch.no_grad():
        ref = ours.refine_masks(x[:1], rois, labels)[:, 0]
        coarse = theirs._mask_forward(x[:1], rois)['mask_preds']
        full = theirs._mask_point_forward_test(x[:1], rois, labels, coarse)
    assert full.shape[1] == 5 and ref.shape == (6, 224, 224)
    assert torch.allclose(ref, full[torch.arange(6), labels], atol=1e-4)
    # refinement did change the upsampled coarse logits
    up = torch.nn.functional.interpolate(
        coarse, size=224, mode='bilinear')[torch.arange(6), labels]
    assert (ref - up).abs().max() > 0.1
