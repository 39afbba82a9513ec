import pytest
import torch

from mmpointrend.models import (PointRendCoarseMaskHead,
                                PointRendGridExtractor, PointRendPointHead)


def test_coarse_head_shapes_gradient_and_loss():
    head = PointRendCoarseMaskHead(
        num_classes=3, in_channels=8, conv_out_channels=8, fc_out_channels=32)
    head.init_weights()
    x = torch.randn(4, 8, 14, 14, requires_grad=True)
    logits = head(x)
    assert logits.shape == (4, 3, 7, 7)
    labels = torch.tensor([0, 2, 1, 2])
    targets = (torch.rand(4, 7, 7) > 0.5).float()
    loss = head.loss(logits, targets, labels)['loss_mask']
    loss.backward()
    assert loss.item() > 0 and x.grad.abs().sum() > 0
    # only the GT-class channel is supervised
    assert head.predictor.weight.grad.reshape(3, 49, -1)[[0, 1, 2]].abs().sum(
        (1, 2)).gt(0).all()
    empty = head(torch.zeros(0, 8, 14, 14))
    assert empty.shape == (0, 3, 7, 7)
    assert head.loss(empty, torch.zeros(0, 7, 7),
                     torch.zeros(0, dtype=torch.long))['loss_mask'].item() == 0
    with pytest.raises(ValueError, match='expects features'):
        head(torch.zeros(1, 8, 12, 12))
    with pytest.raises(ValueError, match='even'):
        PointRendCoarseMaskHead(num_classes=3, roi_feat_size=13)


def test_coarse_head_init_is_detectron2s():
    """MSRA normal (fan out) conv, Caffe2 Xavier (Kaiming uniform, a=1)
    hidden FC layers, N(0, 0.001) predictor, zero biases."""
    torch.manual_seed(0)
    head = PointRendCoarseMaskHead(
        num_classes=3,
        in_channels=64,
        conv_out_channels=64,
        fc_out_channels=512)
    head.init_weights()
    conv = head.reduce.weight  # fan out = 64 * 2 * 2
    assert conv.std().item() == pytest.approx((2 / 256)**0.5, rel=0.05)
    for fc in head.fcs:
        bound = (3 / fc.weight.shape[1])**0.5
        assert fc.weight.abs().max().item() <= bound
        # uniform on [-b, b]: std b / sqrt(3), not normal
        assert fc.weight.std().item() == pytest.approx(
            bound / 3**0.5, rel=0.05)
        assert fc.weight.abs().max().item() > 0.99 * bound
    assert head.predictor.weight.std().item() == pytest.approx(1e-3, rel=0.05)
    for layer in (head.reduce, *head.fcs, head.predictor):
        assert not layer.bias.any()


@pytest.mark.parametrize('each_layer', [True, False])
def test_point_head_selected_rows_equal_full_output(each_layer):
    head = PointRendPointHead(
        num_classes=5,
        in_channels=6,
        fc_channels=12,
        coarse_pred_each_layer=each_layer)
    head.init_weights()
    torch.nn.init.normal_(head.fc_logits.weight)
    fine = torch.randn(4, 6, 9)
    coarse = torch.randn(4, 5, 9)
    full = head(fine, coarse)
    assert full.shape == (4, 5, 9)
    labels = torch.tensor([4, 0, 2, 2])
    picked = head(fine, coarse, labels)
    assert picked.shape == (4, 1, 9)
    assert torch.allclose(
        picked[:, 0], full[torch.arange(4), labels], atol=1e-5)
    picked.sum().backward()
    assert all(p.grad is not None for p in head.parameters())
    with pytest.raises(ValueError, match='coarse channels'):
        head(fine, coarse[:, :3])


def test_point_head_layers_see_coarse_features():
    head = PointRendPointHead(
        num_classes=2, in_channels=3, fc_channels=4, num_fcs=3)
    assert [fc.in_channels for fc in head.fcs] == [5, 6, 6]
    assert head.fc_logits.in_channels == 6


def test_grid_extractor_regular_grid_and_points():
    ext = PointRendGridExtractor(
        featmap_strides=[4], out_size=4, out_channels=2)
    feats = (torch.arange(2 * 2 * 8 * 8,
                          dtype=torch.float).reshape(2, 2, 8, 8), )
    # a box covering feature cells [2, 6) x [1, 5) of image 1
    rois = torch.tensor([[1, 8.0, 4.0, 24.0, 20.0]])
    out = ext(feats, rois)
    assert out.shape == (1, 2, 4, 4)
    assert torch.allclose(out[0], feats[0][1, :, 1:5, 2:6])
    with pytest.raises(ValueError, match='one entry per'):
        PointRendGridExtractor(featmap_strides=[4, 8], featmap_indices=[0])


@pytest.mark.parametrize('each_layer', [True, False])
def test_point_head_factorised_equals_forward(each_layer):
    from mmpointrend.models.utils import point_sample
    torch.manual_seed(0)
    head = PointRendPointHead(
        num_classes=5,
        in_channels=6,
        fc_channels=12,
        coarse_pred_each_layer=each_layer)
    head.init_weights()
    torch.nn.init.normal_(head.fc_logits.weight)
    fine_map = torch.randn(4, 6, 10, 10)
    coarse_map = torch.randn(4, 5, 7, 7)
    labels = torch.tensor([4, 0, 2, 2])
    points = torch.rand(4, 30, 2)
    ref = head(
        point_sample(fine_map, points), point_sample(coarse_map, points),
        labels)
    from mmpointrend.models.utils import bilinear_gather, channels_last_table
    base = torch.arange(4) * 49
    coarse_proj = bilinear_gather(
        head.project_coarse(coarse_map, labels), base, 7, 7, points * 7)
    # fine part projected before interpolation ...
    table = head.project_fine(channels_last_table(fine_map))
    first = bilinear_gather(table, torch.arange(4) * 100, 10, 10, points * 10)
    out = head.forward_projected(first, coarse_proj, labels)
    assert torch.allclose(out, ref, atol=1e-5)
    # ... or after
    first = head.project_fine(point_sample(fine_map, points).transpose(1, 2))
    assert torch.allclose(
        head.forward_projected(first, coarse_proj, labels), ref, atol=1e-5)


@pytest.mark.parametrize('num_classes', [1, 5])
def test_point_head_inference_predictor_equals_training_one(num_classes):
    """The factorised inference predictor (a projected coarse table for K
    classes; the one coarse channel of a class-agnostic head projected at
    the points) gives the plain MLP's logits of each box's class."""
    from mmpointrend.models.utils import all_regions
    from mmpointrend.models.utils.point_features import PointFeatures
    torch.manual_seed(0)
    head = PointRendPointHead(
        num_classes=num_classes, in_channels=6, fc_channels=12)
    head.init_weights()
    torch.nn.init.normal_(head.fc_logits.weight)
    rois = torch.tensor([[0, 2., 3., 30., 20.], [0, 0., 0., 40., 40.],
                         [0, 10., 5., 12., 9.]])
    features = PointFeatures([torch.randn(1, 6, 10, 10)], [4], rois)
    coarse = torch.randn(3, num_classes, 28, 28)
    labels = torch.tensor([num_classes - 1, 0, 0])
    points, regions = torch.rand(3, 50, 2), all_regions(3, rois.device)
    ref = head.predictor(features, coarse, labels)(points, regions)
    out = head.predictor(
        features, coarse, labels, inference=True)(points, regions)
    assert out.shape == ref.shape == (3, 1, 50)
    assert torch.allclose(out, ref, atol=1e-5)
