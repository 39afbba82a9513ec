"""LogitRankedRPNHead keeps and orders proposals by objectness logit, also
where float32 sigmoid scores tie at 1.0."""
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import ConfigDict


def _head(**kwargs):
    cfg = dict(
        type='LogitRankedRPNHead',
        in_channels=4,
        feat_channels=4,
        anchor_generator=dict(
            type='AnchorGenerator', scales=[8], ratios=[1.0], strides=[4, 8]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0.0] * 4,
            target_stds=[1.0] * 4),
        test_cfg=ConfigDict(
            nms_pre=5,
            max_per_img=10,
            min_bbox_size=0,
            nms=dict(type='nms', iou_threshold=0.99)))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_saturated_logits_are_ranked_by_logit():
    head = _head()
    gen = torch.Generator().manual_seed(0)
    # level 0: 64 anchors, every logit > 20 (sigmoid == 1.0 in float32),
    # all distinct; level 1: 16 anchors with moderate logits
    logits0 = (20 + 0.5 * torch.randperm(64, generator=gen).float())
    logits1 = torch.linspace(-3, 3, 16)[torch.randperm(16, generator=gen)]
    assert torch.all(logits0.sigmoid() == 1.0)
    cls_scores = [logits0.reshape(1, 1, 8, 8), logits1.reshape(1, 1, 4, 4)]
    bbox_preds = [torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 4, 4)]
    meta = dict(img_shape=(64, 64), scale_factor=(1.0, 1.0))
    with torch.no_grad():
        res = head.predict_by_feat(
            cls_scores, bbox_preds, batch_img_metas=[meta], rescale=False)[0]
    anchors = head.prior_generator.grid_priors([(8, 8), (4, 4)], device='cpu')
    # the 5 highest logits of each level, all of level 0 first
    top0 = logits0.topk(5).indices
    top1 = logits1.topk(5).indices
    expected = torch.cat([anchors[0][top0], anchors[1][top1]])
    expected = torch.stack([
        expected[:, 0].clamp(0, 64), expected[:, 1].clamp(0, 64),
        expected[:, 2].clamp(0, 64), expected[:, 3].clamp(0, 64)
    ], 1)
    torch.testing.assert_close(res.bboxes, expected)
    torch.testing.assert_close(
        res.scores,
        torch.cat([logits0[top0], logits1[top1]]).sigmoid())


def test_non_finite_candidates_are_dropped():
    head = _head()
    logits0 = torch.linspace(-2, 2, 64)
    logits0[63] = float('nan')
    deltas0 = torch.zeros(1, 4, 8, 8)
    deltas0[0, :, 7, 6] = float('inf')  # anchor 62, the next-best logit
    with torch.no_grad():
        res = head.predict_by_feat(
            [logits0.reshape(1, 1, 8, 8),
             torch.zeros(1, 1, 4, 4)],
            [deltas0, torch.zeros(1, 4, 4, 4)],
            batch_img_metas=[dict(img_shape=(32, 32))],
            rescale=False)[0]
    assert torch.isfinite(res.bboxes).all() and torch.isfinite(
        res.scores).all()
    assert len(res) > 0


def test_softmax_classifier_is_refused():
    with pytest.raises(ValueError, match='use_sigmoid'):
        _head(
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
