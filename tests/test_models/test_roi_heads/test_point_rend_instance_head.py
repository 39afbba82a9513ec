import copy

import pytest
import torch
from helpers import (build_roi_head, det_sample, feats,
                     positive_sampling_result, random_boxes,
                     small_roi_head_cfg)
from mmdet.registry import MODELS
from mmengine.structures import InstanceData


def test_loss_shapes_and_gradients_polygons_and_bitmaps():
    head = build_roi_head()
    x = tuple(f.requires_grad_() for f in feats(batch=2))
    samples = [det_sample(seed=0), det_sample(seed=1, polygons=False)]
    losses = head.loss(x, [s.proposals for s in samples], samples)
    assert {'loss_mask', 'loss_point', 'loss_cls', 'loss_bbox'} <= set(losses)
    total = losses['loss_mask'] + losses['loss_point']
    total.backward()
    assert losses['loss_point'].item() > 0
    assert head.point_head.fcs[0].weight.grad.abs().sum() > 0
    assert head.mask_head.reduce.weight.grad.abs().sum() > 0
    assert x[0].grad.abs().sum() > 0


def test_loss_with_images_without_gt():
    head = build_roi_head()
    x = feats(batch=2)
    empty = det_sample(seed=3, num_gt=0)
    mixed = [det_sample(seed=2), empty]
    losses = head.loss(x, [s.proposals for s in mixed], mixed)
    assert torch.isfinite(losses['loss_point']) and losses['loss_point'] > 0
    only_empty = [det_sample(seed=4, num_gt=0), det_sample(seed=5, num_gt=0)]
    for s in only_empty:  # proposals that match nothing
        proposals = InstanceData()
        proposals.bboxes = random_boxes(6, 256, seed=9)
        proposals.scores = torch.rand(6)
        s.proposals = proposals
    losses = head.loss(x, [s.proposals for s in only_empty], only_empty)
    assert losses['loss_point'].item() == 0 and losses['loss_mask'].item() == 0
    (losses['loss_point'] + losses['loss_mask']).backward()


def test_point_labels_follow_polygons():
    """Points of a box equal to its GT polygon's box get the polygon's
    labels."""
    head = build_roi_head(
        train_cfg=dict(
            small_roi_head_cfg().train_cfg,
            num_points=16 * 16,
            point_sampling='grid'))
    sample = det_sample(seed=0, num_gt=1)
    # the GT polygon is the diamond inscribed in its box: about half inside
    from mmdet.structures.bbox import bbox2roi
    gt = sample.gt_instances
    res = positive_sampling_result(gt, gt.bboxes, torch.tensor([0]))
    from mmpointrend.models.point_samplers import PositiveBoxes
    branch = head.mask_branch
    points = branch.stages[0].point_strategy.sample(
        PositiveBoxes(
            bbox2roi([res.pos_priors]), torch.tensor([0]),
            torch.zeros(1, 5, 7, 7), [res], [sample.gt_instances]),
        branch.uncertainty)
    grid = points.labels.reshape(16, 16)
    assert abs(grid.mean().item() - 0.5) < 0.08
    assert grid[8, 8] == 1 and grid[0, 0] == 0 and grid[15, 15] == 0


def _results(n_per_img, img_size=256):
    out = []
    for i, n in enumerate(n_per_img):
        r = InstanceData()
        r.bboxes = random_boxes(n, img_size, seed=i)
        r.labels = torch.arange(n) % 5
        r.scores = torch.rand(n)
        out.append(r)
    return out


def _metas(n, img_size=256, scale=1.0):
    ori = int(round(img_size / scale))
    return [
        dict(
            img_shape=(img_size, img_size),
            ori_shape=(ori, ori),
            scale_factor=(scale, scale)) for _ in range(n)
    ]


def test_predict_mask_mixed_empty_batch_and_rescale():
    head = build_roi_head().eval()
    x = feats(batch=3)
    with torch.no_grad():
        res = head.predict_mask(
            x, _metas(3, scale=2.0), _results([4, 0, 2]), rescale=True)
    assert [tuple(r.masks.shape)
            for r in res] == [(4, 128, 128), (0, 128, 128), (2, 128, 128)]
    assert res[0].masks.dtype == torch.bool
    with torch.no_grad():
        res = head.predict_mask(
            x, _metas(3, scale=2.0), _results([4, 0, 2]), rescale=False)
    # rescale=False: masks and boxes at the test-image scale
    assert tuple(res[0].masks.shape) == (4, 256, 256)
    assert torch.allclose(res[0].bboxes, random_boxes(4, 256, seed=0))
    with torch.no_grad():
        res = head.predict_mask(x, _metas(3), _results([0, 0, 0]))
    assert all(len(r.masks) == 0 for r in res)


def test_masks_stay_inside_their_boxes_and_odd_boxes():
    head = build_roi_head().eval()
    x = feats(batch=1)
    r = InstanceData()
    r.bboxes = torch.tensor([[10., 10., 60., 50.], [30., 30., 30., 70.],
                             [300., 300., 400., 400.], [-50., 10., 5., 40.]])
    r.labels = torch.tensor([1, 2, 3, 4])
    r.scores = torch.ones(4)
    # make every point foreground so masks fill their boxes
    torch.nn.init.zeros_(head.point_head.fc_logits.weight)
    torch.nn.init.constant_(head.point_head.fc_logits.bias, 5.0)
    torch.nn.init.zeros_(head.mask_head.predictor.weight)
    torch.nn.init.constant_(head.mask_head.predictor.bias, 5.0)
    with torch.no_grad():
        out = head.predict_mask(x, _metas(1), [r])[0]
    m = out.masks
    assert m.shape == (4, 256, 256)
    assert m[0, 10:50, 10:60].all() and m[0].sum() <= 52 * 42
    assert m[1].sum() == 0  # zero width
    assert m[2].sum() == 0  # outside the image
    assert m[3, 10:40, 0:5].all() and m[3].sum() <= 6 * 32


@pytest.mark.parametrize('rescale', [False, True])
def test_drop_empty_boxes_as_detectron2(rescale):
    """detectron2's postprocess: output boxes clipped to the output image,
    detections whose box is then empty dropped; mmdet keeps all of them."""
    boxes = torch.tensor([[10., 10., 60., 50.], [30., 30., 30., 70.],
                          [300., 300., 400., 400.], [-50., 10., 5., 40.],
                          [20., 40., 250., 40.]])

    head = build_roi_head().eval()

    def run(drop):
        head.test_cfg.drop_empty_boxes = drop
        r = InstanceData(
            bboxes=boxes.clone(),
            labels=torch.arange(5),
            scores=torch.linspace(1, 0.5, 5))
        with torch.no_grad():
            return head.predict_mask(
                feats(batch=1),
                _metas(1, scale=2.0 if rescale else 1.), [r],
                rescale=rescale)[0]

    kept = run(False)
    assert len(kept) == 5 and kept.masks.shape[0] == 5
    out = run(True)
    # zero width, outside the image, zero height: dropped
    assert out.labels.tolist() == [0, 3]
    scale = 2.0 if rescale else 1.0
    size = 256 / scale
    expected = torch.tensor([[10., 10., 60., 50.], [0., 10., 5., 40.]]) / scale
    torch.testing.assert_close(out.bboxes, expected.clamp(max=size))
    assert out.masks.shape == (2, size, size)
    assert torch.equal(out.masks[0], kept.masks[0])
    # as detectron2, the mask is pasted into the clipped box
    x1, y0, y1 = (
        int(v) for v in expected[1, 2:3].tolist() + expected[1, 1::2].tolist())
    assert not out.masks[1, :, x1 + 1:].any()
    assert not out.masks[1, :y0].any() and not out.masks[1, y1 + 1:].any()


def test_refine_chunks_give_identical_masks():
    head = build_roi_head().eval()
    x = feats(batch=2)
    rois = torch.cat(
        [torch.tensor([[0.]] * 5 + [[1.]] * 4),
         random_boxes(9, 256)], 1)
    labels = torch.arange(9) % 5
    features = head.mask_roi_extractor.point_features(x, rois)
    sizes, outputs = [], []
    with torch.no_grad():
        # one chunk of all 9 boxes, chunks of 2, one box at a time
        for budget in (1024, 2.5, 1e-3):
            head.test_cfg.chunk_memory_mb = budget
            sizes.append(head.mask_branch.chunk_size(features, rois.device))
            outputs.append(head.refine_masks(x, rois, labels))
    assert sizes[0] >= 9 and sizes[2] == 1 and 1 < sizes[1] < 9
    assert outputs[0].shape == (9, 1, 224, 224)
    for out in outputs[1:]:
        assert torch.allclose(outputs[0], out, atol=1e-5)


def test_build_time_checks():
    cfg = small_roi_head_cfg()
    bad = copy.deepcopy(cfg)
    bad.point_head.num_classes = 7
    with pytest.raises(ValueError, match='num_classes must agree'):
        MODELS.build(bad)
    bad = copy.deepcopy(cfg)
    bad.train_cfg.mask_size = 28
    with pytest.raises(ValueError, match='mask_size'):
        MODELS.build(bad)
    bad = copy.deepcopy(cfg)
    bad.test_cfg.subdivison_steps = 3
    with pytest.raises(KeyError, match="subdivision_steps"):
        MODELS.build(bad)
    bad = copy.deepcopy(cfg)
    bad.train_cfg.importance_ratio = 0.5
    with pytest.raises(KeyError, match='importance_sample_ratio'):
        MODELS.build(bad)
    bad = copy.deepcopy(cfg)
    bad.mask_head.in_channels = 32
    bad.mask_head.conv_out_channels = 32
    with pytest.raises(ValueError, match='in_channels'):
        MODELS.build(bad)
    bad = copy.deepcopy(cfg)
    bad.mask_roi_extractor = dict(
        type='SingleRoIExtractor',
        roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
        out_channels=16,
        featmap_strides=[4, 8, 16, 32])
    with pytest.raises(TypeError, match='PointRendGridExtractor'):
        MODELS.build(bad)


def test_mask_on_refined_boxes_switch():
    torch.manual_seed(0)
    plain = build_roi_head()
    cascade = build_roi_head(
        train_cfg=dict(
            small_roi_head_cfg().train_cfg, mask_on_refined_boxes=True))
    cascade.load_state_dict(plain.state_dict())
    torch.nn.init.normal_(cascade.bbox_head.fc_reg.weight, std=0.5)
    x = feats(batch=2)
    seen = {}
    original_mask, original_bbox = cascade.mask_loss, cascade.bbox_loss

    def spy_bbox(x, sampling_results):
        seen['priors'] = [r.pos_priors.clone() for r in sampling_results]
        return original_bbox(x, sampling_results)

    def spy_mask(x, sampling_results, bbox_feats, gts):
        seen['boxes'] = [r.pos_priors.clone() for r in sampling_results]
        return original_mask(x, sampling_results, bbox_feats, gts)

    cascade.mask_loss, cascade.bbox_loss = spy_mask, spy_bbox
    samples = [det_sample(seed=0), det_sample(seed=1)]
    losses = cascade.loss(x, [s.proposals for s in samples], samples)
    assert torch.isfinite(losses['loss_point'])
    moved = [(b - p).abs().max()
             for b, p in zip(seen['boxes'], seen['priors'])]
    assert all(m > 0.1 for m in moved)


@pytest.mark.parametrize('steps,points,side', [(2, 784, 28), (3, 784, 56),
                                               (5, 196, 224)])
def test_table3_test_settings(steps, points, side):
    cfg = small_roi_head_cfg()
    cfg.test_cfg.update(subdivision_steps=steps, subdivision_num_points=points)
    head = MODELS.build(cfg).eval()
    rois = torch.cat([torch.zeros(3, 1), random_boxes(3, 256)], 1)
    with torch.no_grad():
        out = head.refine_masks(feats(batch=1), rois, torch.tensor([0, 1, 2]))
    assert out.shape == (3, 1, side, side)


def test_refine_fine_projection_paths_agree(monkeypatch):
    """Projecting P2 before interpolation or not gives the same logits, and
    both equal the plain (unfactorised) point head."""
    from mmpointrend.models.utils import (binary_uncertainty, point_sample,
                                          subdivide)
    head = build_roi_head().eval()
    torch.nn.init.normal_(head.point_head.fc_logits.weight, std=0.3)
    x = feats(batch=2)
    rois = torch.cat(
        [torch.tensor([[0.]] * 3 + [[1.]] * 2),
         random_boxes(5, 256)], 1)
    labels = torch.tensor([0, 3, 1, 4, 2])
    with torch.no_grad():
        monkeypatch.setattr(
            type(head.mask_branch), "num_refined_points",
            lambda self, n: 10**9)
        projected = head.refine_masks(x, rois, labels)
        monkeypatch.setattr(
            type(head.mask_branch), "num_refined_points", lambda self, n: 0)
        direct = head.refine_masks(x, rois, labels)
        features, coarse = head.coarse_predictions(x, rois)

        def plain(points, regions):  # the MLP on sampled features
            fine = features.sample(points, regions).transpose(1, 2)
            return head.point_head(fine, point_sample(coarse[regions], points),
                                   labels[regions])

        ref = subdivide(coarse[torch.arange(5), labels][:, None], plain,
                        binary_uncertainty, 5, 784)
    assert torch.allclose(projected, direct, atol=1e-4)
    assert torch.allclose(projected, ref, atol=1e-4)


def test_adaptive_resolution_stops_small_boxes_early():
    cfg = small_roi_head_cfg()
    head = MODELS.build(cfg).eval()
    torch.nn.init.normal_(head.point_head.fc_logits.weight, std=0.3)
    x = feats(batch=1)
    # 6 px (0 steps), 40 px (3 steps: 56 >= 40), 230 px (5 steps)
    rois = torch.tensor([[0, 10., 10., 16., 16.], [0, 20., 20., 60., 50.],
                         [0, 5., 5., 235., 200.]])
    labels = torch.tensor([1, 2, 3])
    with torch.no_grad():
        full = head.refine_masks(x, rois, labels)
        head.test_cfg.adaptive_resolution = True
        assert head.mask_branch.region_steps(rois, 7).tolist() == [0, 3, 5]
        adaptive = head.refine_masks(x, rois, labels)
        coarse = head.coarse_predictions(x, rois)[1][torch.arange(3), labels]
    up = coarse[:1, None]
    for _ in range(5):  # 0 steps: only the x2 bilinear upsamplings
        up = torch.nn.functional.interpolate(
            up, scale_factor=2, mode='bilinear')
    assert torch.allclose(adaptive[0], up[0], atol=1e-5)
    assert not torch.allclose(adaptive[1], full[1], atol=1e-3)
    assert torch.allclose(adaptive[2], full[2], atol=1e-5)


def test_degenerate_ground_truth_trains():
    """GT masks smaller than a pixel, zero-area GT boxes and GT boxes
    outside the image: finite losses, no crash."""
    import numpy as np
    from mmdet.structures.mask import PolygonMasks
    head = build_roi_head()
    x = feats(batch=1)
    sample = det_sample(seed=0, num_gt=3)
    gt = sample.gt_instances
    gt.bboxes = torch.tensor([
        [10., 10., 10.4, 10.3],  # sub-pixel
        [50., 50., 50., 80.],  # zero width
        [300., 300., 340., 330.]
    ])  # outside 256x256
    gt.masks = PolygonMasks([[np.array([10, 10, 10.4, 10, 10.2, 10.3])],
                             [np.array([50, 50, 50, 80, 50, 65.])],
                             [np.array([300, 300, 340, 300, 320, 330.])]], 256,
                            256)
    sample.proposals.bboxes = gt.bboxes.repeat(4, 1) + torch.rand(12, 4)
    losses = head.loss(x, [sample.proposals], [sample])
    for k in ('loss_mask', 'loss_point', 'loss_cls', 'loss_bbox'):
        assert torch.isfinite(losses[k]), k
    (losses['loss_mask'] + losses['loss_point']).backward()


def test_nan_and_inf_features_give_masks_not_crashes():
    head = build_roi_head().eval()
    x = list(feats(batch=1))
    x[0][0, :, 10:20, 10:20] = float('nan')
    x[0][0, :, 30:40, 30:40] = float('inf')
    with torch.no_grad():
        res = head.predict_mask(tuple(x), _metas(1), _results([5]))[0]
    assert res.masks.shape == (5, 256, 256) and res.masks.dtype == torch.bool
