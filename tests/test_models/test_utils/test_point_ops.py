import pytest
import torch
import torch.nn.functional as F
from mmcv.ops import point_sample as mmcv_point_sample

# yapf: disable
from mmpointrend.models.utils import (binary_uncertainty,
                                      box_points_to_image_points,
                                      grid_indices_to_points,
                                      margin_uncertainty, point_sample,
                                      regular_grid_points,
                                      sample_image_features,
                                      sample_training_points, subdivide,
                                      subdivision_step,
                                      top_uncertain_grid_points)

# yapf: enable


def test_regular_grid_points_are_cell_centres():
    pts = regular_grid_points(2, 2, 4)
    assert pts.shape == (2, 8, 2)
    assert torch.allclose(pts[0, 0], torch.tensor([0.125, 0.25]))
    assert torch.allclose(pts[0, 5], torch.tensor([0.375, 0.75]))
    # flat index i <-> grid cell i
    idx = torch.arange(8)[None]
    assert torch.allclose(grid_indices_to_points(idx, 2, 4), pts[:1])


def test_point_sample_matches_mmcv_and_reads_cell_centres():
    x = torch.randn(3, 5, 7, 9)
    pts = torch.rand(3, 11, 2)
    assert torch.allclose(
        point_sample(x, pts), mmcv_point_sample(x, pts), atol=1e-6)
    centres = regular_grid_points(3, 7, 9)
    assert torch.allclose(point_sample(x, centres), x.flatten(2), atol=1e-5)


def _loop_reference(feats, batch_inds, img_points, stride):
    out = []
    for r in range(len(batch_inds)):
        f = feats[batch_inds[r]][None]
        h, w = f.shape[-2:]
        rel = img_points[r] / torch.tensor([w * stride, h * stride])
        out.append(point_sample(f, rel[None])[0])
    return torch.stack(out)


@pytest.mark.parametrize('batch_inds', [[0, 1, 1, 0, 2], [2, 2, 2], [0]])
def test_sample_image_features_equals_per_region_loop(batch_inds):
    feats = torch.randn(3, 4, 10, 12)
    batch_inds = torch.tensor(batch_inds)
    img_points = torch.rand(len(batch_inds), 6, 2) * 50 - 2
    out = sample_image_features(feats, batch_inds, img_points, 4)
    ref = _loop_reference(feats, batch_inds, img_points, 4)
    assert out.shape == (len(batch_inds), 4, 6)
    assert torch.allclose(out, ref, atol=1e-5)


def test_sample_image_features_empty_and_gradient():
    feats = torch.randn(2, 4, 10, 12, requires_grad=True)
    out = sample_image_features(feats, torch.zeros(0, dtype=torch.long),
                                torch.zeros(0, 5, 2), 4)
    assert out.shape == (0, 4, 5)
    out = sample_image_features(feats, torch.tensor([1]),
                                torch.full((1, 3, 2), 10.0), 4)
    out.sum().backward()
    assert feats.grad[1].abs().sum() > 0 and feats.grad[0].abs().sum() == 0


def test_box_points_to_image_points():
    rel = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [0.5, 0.25]]])
    boxes = torch.tensor([[10.0, 20.0, 30.0, 60.0]])
    out = box_points_to_image_points(rel, boxes)
    assert torch.allclose(out,
                          torch.tensor([[[10., 20.], [30., 60.], [20., 30.]]]))


def test_uncertainties():
    logits = torch.tensor([[[-3.0, 0.1, 2.0]]])
    assert binary_uncertainty(logits).argmax() == 1
    multi = torch.tensor([[[5.0, 1.0], [0.0, 1.1], [-5.0, 0.0]]])  # (1,3,2)
    u = margin_uncertainty(multi)
    assert u.shape == (1, 2) and u[0, 1] > u[0, 0]
    assert (u <= 0).all()
    assert torch.allclose(u, torch.tensor([[-5.0, -0.1]]))
    with pytest.raises(ValueError):
        binary_uncertainty(multi)
    with pytest.raises(ValueError):
        margin_uncertainty(logits[:, :1, :1])


def test_training_points_take_beta_share_from_top_candidates():
    torch.manual_seed(0)
    seen = {}

    def uncertainty(sampled):  # sampled: (R, 1, kN)
        seen['values'] = sampled[:, 0]
        return sampled[:, 0]

    # logits equal to x on a fine grid: uncertainty(point) ~ x coordinate
    xs = torch.linspace(0, 1, 64)
    logits = xs.expand(64, 64)[None, None].repeat(2, 1, 1, 1)
    n, k, beta = 40, 3, 0.75
    pts = sample_training_points(logits, uncertainty, n, k, beta)
    assert pts.shape == (2, n, 2)
    assert seen['values'].shape == (2, n * k)
    n_imp = int(beta * n)
    # the importance points are the beta*N most uncertain of the kN
    # candidates: their sampled values are the top ones
    top = seen['values'].topk(n_imp, dim=1).values
    imp_vals = point_sample(logits, pts[:, :n_imp])[:, 0]
    assert torch.allclose(
        imp_vals.sort(1).values, top.sort(1).values, atol=1e-5)
    # and they are biased toward large x, the rest is uniform
    assert pts[:, :n_imp, 0].min() > pts[:, n_imp:, 0].min()


def test_training_points_uniform_and_bad_args():
    logits = torch.zeros(3, 1, 7, 7)
    pts = sample_training_points(logits, binary_uncertainty, 10, 1, 0.0)
    assert pts.shape == (3, 10, 2) and (pts >= 0).all() and (pts <= 1).all()
    with pytest.raises(ValueError):
        sample_training_points(logits, binary_uncertainty, 10, 0.5, 0.5)
    with pytest.raises(ValueError):
        sample_training_points(logits, binary_uncertainty, 10, 3, 1.5)


def test_top_uncertain_grid_points():
    u = torch.zeros(1, 4, 4)
    u[0, 2, 3] = 5
    u[0, 0, 1] = 4
    idx, pts = top_uncertain_grid_points(u, 2)
    assert idx.tolist() == [[11, 1]]
    assert torch.allclose(pts[0, 0], torch.tensor([0.875, 0.625]))
    idx, _ = top_uncertain_grid_points(u, 100)
    assert idx.shape == (1, 16)


def _reference_subdivision(logits, predict, steps, num_points):
    """Plain per-region loop, no shortcuts."""
    out = []
    for r in range(logits.shape[0]):
        x = logits[r:r + 1]
        for _ in range(steps):
            x = F.interpolate(
                x, scale_factor=2, mode='bilinear', align_corners=False)
            h, w = x.shape[-2:]
            n = min(num_points, h * w)
            idx = (-x[0, 0].abs()).flatten().topk(n).indices
            pts = torch.stack([(idx % w + 0.5) / w, (idx // w + 0.5) / h], -1)
            vals = predict(pts[None], r)
            flat = x.flatten(2).clone()
            flat[0, :, idx] = vals[0]
            x = flat.reshape(x.shape)
        out.append(x)
    return torch.cat(out)


def test_subdivide_equals_per_region_loop():
    torch.manual_seed(1)
    logits = torch.randn(4, 1, 7, 7)
    field = torch.randn(4, 1, 50, 50)

    def predict_batched(points, regions):
        return point_sample(field[regions], points)

    def predict_one(points, r):
        return point_sample(field[r:r + 1], points)

    for steps, n in ((5, 28 * 28), (3, 14 * 14), (2, 10)):
        out = subdivide(logits, predict_batched, binary_uncertainty, steps, n)
        ref = _reference_subdivision(logits, predict_one, steps, n)
        assert out.shape == (4, 1, 7 * 2**steps, 7 * 2**steps)
        assert torch.allclose(out, ref, atol=1e-5)


def test_subdivision_step_output_size_and_predict_flag():
    logits = torch.randn(2, 3, 5, 5)
    calls = []

    def predict(points, regions):
        calls.append(points.shape)
        return torch.zeros(points.shape[0], 3, points.shape[1])

    out = subdivision_step(
        logits, predict, margin_uncertainty, 7, output_size=(11, 13))
    assert out.shape == (2, 3, 11, 13) and calls == [(2, 7, 2)]
    assert (out.flatten(2) == 0).sum(-1).min() >= 7
    out = subdivision_step(
        logits, predict, margin_uncertainty, 7, predict=False)
    assert out.shape == (2, 3, 10, 10) and len(calls) == 1


def test_subdivide_region_steps_equals_per_region_loop():
    torch.manual_seed(2)
    logits = torch.randn(5, 1, 7, 7)
    field = torch.randn(5, 1, 50, 50)
    steps = torch.tensor([0, 1, 2, 5, 3])

    def predict_batched(points, regions):
        return point_sample(field[regions], points)

    out = subdivide(
        logits,
        predict_batched,
        binary_uncertainty,
        5,
        784,
        region_steps=steps)
    assert out.shape == (5, 1, 224, 224)
    for r in range(5):
        ref = _reference_subdivision(
            logits[r:r + 1],
            lambda p, _r, r=r: point_sample(field[r:r + 1], p),
            int(steps[r]),
            784)
        for _ in range(5 - int(steps[r])):
            ref = F.interpolate(
                ref, scale_factor=2, mode='bilinear', align_corners=False)
        assert torch.allclose(out[r:r + 1], ref, atol=1e-5), r
