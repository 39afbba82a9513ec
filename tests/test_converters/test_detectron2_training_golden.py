"""One training step of detectron2's own PointRend (fixture T,
``../shared/fixtures/detectron2/training``) reproduced from the converted
weights: the same image, ground truth, positive proposals and points give
the same point labels, coarse targets, losses and point-head gradient.

Instance: the R50 model of fixture A (zoo .pkl by the fixtures'
``make_zoo_pkl.py``, converted by our tool), polygon ground truth as mmdet
loads it (``PolygonMasks``) and as bitmaps (mmdet's own
``PolygonMasks.to_bitmap``, pycocotools), through the RoI head's
``mask_loss``. Semantic: the R101 model of fixture B with the d2-zoo config,
through the segmentor's ``loss``.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from d2_fixtures import FIXTURES, R50, SEMANTIC, convert, require_fixtures
from helpers import REPO, positive_sampling_result

require_fixtures()
TRAINING = osp.join(FIXTURES, 'training')
R50_CFG = 'configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_d2-exact.py'
SEM_CFG = ('configs/point_rend_seg/'
           'point-rend_fpn_r101-caffe-d2zoo_8xb4-65k_cityscapes-512x1024.py')
POINT_SETS = ('uniform', 'boundary', 'importance')


def build_for_training(config: str, ckpt: str):
    """The config's model in training mode with the converted weights."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from mmpointrend.registry import DET_MODELS, seg_registries
    cfg = Config.fromfile(osp.join(REPO, config))
    registry = DET_MODELS if 'roi_head' in cfg.model else \
        seg_registries()[0]
    model = registry.build(cfg.model)
    load_checkpoint(model, ckpt, map_location='cpu', strict=True)
    return model.train()


@pytest.fixture(scope='module')
def step():
    return dict(np.load(osp.join(TRAINING, f'{R50}.coffee.train_step.npz')))


@pytest.fixture(scope='module')
def r50(tmp_path_factory):
    ckpt = convert(R50, R50_CFG, tmp_path_factory.mktemp('r50'))
    model = build_for_training(R50_CFG, ckpt)
    for p in model.parameters():
        p.requires_grad_(False)
    model.roi_head.point_head.fcs[0].weight.requires_grad_(True)
    return model


def fixed_points_strategy(points: np.ndarray):
    """The default strategy (:class:`MaskPointSampler`, importance mode, the
    authors' labels) with detectron2's points instead of its random ones;
    it keeps what it returned."""
    from mmpointrend.models.point_samplers import MaskPointSampler

    class FixedPoints(MaskPointSampler):

        def choose_points(self, coarse, labels, uncertainty):
            return torch.from_numpy(points).to(coarse)

        def sample(self, *args, **kwargs):
            self.last = super().sample(*args, **kwargs)
            return self.last

    return FixedPoints()


def ground_truth(step: dict, bitmaps: bool):
    """Fixture T's instances as mmdet holds them after its transforms."""
    from mmdet.structures.mask import PolygonMasks
    from mmengine.structures import InstanceData
    height, width = step['img_bgr'].shape[:2]
    polys = [[step[f'poly_{g}_{k}'] for k in range(int(step['num_parts'][g]))]
             for g in range(len(step['gt_classes']))]
    masks = PolygonMasks(polys, height, width)
    if bitmaps:
        masks = masks.to_bitmap()
    gt = InstanceData()
    gt.masks = masks
    gt.bboxes = masks.get_bboxes(dst_type='hbox').tensor.float()
    gt.labels = torch.from_numpy(step['gt_classes'])
    return gt


def positives(boxes: np.ndarray, box_gt: np.ndarray, gt):
    """mmdet's ``SamplingResult`` with ``boxes`` all positive, matched to
    instances ``box_gt``."""
    return positive_sampling_result(gt,
                                    torch.from_numpy(boxes).float(),
                                    torch.from_numpy(box_gt).long())


@pytest.fixture(scope='module')
def r50_features(r50, step):
    img = torch.from_numpy(step['img_bgr'].transpose(2, 0, 1).copy())
    data = r50.data_preprocessor(dict(inputs=[img], data_samples=None))
    assert tuple(data['inputs'].shape[-2:]) == tuple(step['d2_padded_shape'])
    with torch.no_grad():
        return r50.extract_feat(data['inputs'])


def mask_branch_step(r50, features, step, point_set, bitmaps):
    roi_head = r50.roi_head
    strategy = fixed_points_strategy(step[f'd2_{point_set}_points'])
    roi_head.mask_branch.stages[0].point_strategy = strategy
    gt = ground_truth(step, bitmaps)
    out = roi_head.mask_loss(features,
                             [positives(step['boxes'], step['box_gt'], gt)],
                             None, [gt])
    weight = roi_head.point_head.fcs[0].weight
    weight.grad = None
    out['loss_mask']['loss_point'].backward()
    return out, strategy.last, weight.grad.clone()


@pytest.mark.parametrize('bitmaps', [False, True], ids=['polygons', 'bitmaps'])
@pytest.mark.parametrize('point_set', POINT_SETS)
def test_r50_training_targets_losses_and_gradient_equal_detectron2(
        r50, r50_features, step, point_set, bitmaps):
    out, points, grad = mask_branch_step(r50, r50_features, step, point_set,
                                         bitmaps)
    d2 = {
        k[len(f'd2_{point_set}_'):]: v
        for k, v in step.items() if k.startswith(f'd2_{point_set}_')
    }
    # the inputs agree: image points and the logits the losses score
    from mmpointrend.models.utils import box_points_to_image_points
    img_points = box_points_to_image_points(points.coords,
                                            torch.from_numpy(step['boxes']))
    np.testing.assert_allclose(
        img_points.numpy(), d2['point_coords_img'], atol=1e-4)
    # the targets: fractional point labels, the raster's coarse targets
    labels = points.labels.numpy()
    assert ((labels > 0) & (labels < 1)).any()  # not 0/1 labels
    # float32 image points near x = 1000 are 6e-5 apart
    np.testing.assert_allclose(labels, d2['point_labels'], atol=1e-4)
    assert np.abs(labels - d2['point_labels']).mean() < 1e-6
    targets = out['mask_targets'].numpy()
    np.testing.assert_array_equal(targets, d2['coarse_targets'])
    # the losses and the point head's first-layer gradient
    losses = out['loss_mask']
    assert float(losses['loss_mask']) == pytest.approx(
        float(d2['loss_mask']), rel=1e-5)
    assert float(losses['loss_point']) == pytest.approx(
        float(d2['loss_mask_point']), rel=1e-5)
    expected = torch.from_numpy(d2['grad_fc1'])
    rel = (grad - expected).norm() / expected.norm()
    # the features agree to ~1e-4 (README); the old 0/1 labels were 1-5% off
    assert rel < 1e-3, float(rel)


@pytest.mark.parametrize('bitmaps', [False, True], ids=['polygons', 'bitmaps'])
def test_r50_coarse_targets_of_boxes_across_the_border(step, bitmaps):
    """Proposals that cross the image border: the box is not clipped before
    the target is cut (detectron2's ``crop_and_resize``)."""
    from mmpointrend.models.point_samplers import GroundTruthRaster
    gt = ground_truth(step, bitmaps)
    boxes = step['boxes_border']
    assert (boxes[:, :2] < 0).any() or (boxes[:, 2] > 1200).any() or \
        (boxes[:, 3] > 800).any()
    res = positives(boxes, step['box_gt_border'], gt)
    corners = torch.from_numpy(boxes).view(-1, 2, 2)  # the boxes only
    raster = GroundTruthRaster.of([res], [gt], corners)
    targets = raster.mask_targets(7).numpy()
    np.testing.assert_array_equal(targets, step['d2_border_coarse_targets'])


@pytest.fixture(scope='module')
def semantic(tmp_path_factory):
    ckpt = convert(SEMANTIC, SEM_CFG, tmp_path_factory.mktemp('semantic'))
    return build_for_training(SEM_CFG, ckpt)


@pytest.mark.parametrize('point_set', ['uniform', 'importance'])
def test_semantic_training_losses_labels_and_gradients_equal_detectron2(
        semantic, point_set, monkeypatch):
    """The d2-zoo config averages both cross-entropies over the pixels /
    points that are not ignored, as detectron2: the losses equal its own
    (mmseg's default average over all pixels gives 0.90x on this crop)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    step = np.load(
        osp.join(TRAINING, f'{SEMANTIC}.coffee_crop.train_step.npz'))
    d2 = {
        k[len(f'd2_{point_set}_'):]: step[k]
        for k in step.files if k.startswith(f'd2_{point_set}_')
    }
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(
        data=torch.from_numpy(step['labels'].astype(np.int64))[None])
    height, width = step['labels'].shape
    sample.set_metainfo(
        dict(img_shape=(height, width), ori_shape=(height, width)))
    img = torch.from_numpy(step['img_bgr'].transpose(2, 0, 1).copy())
    data = semantic.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), training=True)
    assert tuple(data['inputs'].shape[-2:]) == tuple(step['d2_padded_shape'])
    gt = data['data_samples'][0].gt_sem_seg.data
    assert int((gt == 255).sum()) == int(step['d2_pixels_ignored'])
    point_head = semantic.decode_head[1]
    points = torch.from_numpy(d2['points'])
    recorded = {}

    def labels_at(gt, rel_points):
        recorded['labels'] = type(point_head)._point_labels(gt, rel_points)
        return recorded['labels']

    monkeypatch.setattr(point_head, 'choose_points',
                        lambda coarse, train_cfg: points.to(coarse))
    monkeypatch.setattr(point_head, '_point_labels', labels_at)
    losses = semantic.loss(data['inputs'], data['data_samples'])
    np.testing.assert_array_equal(recorded['labels'].numpy(),
                                  d2['point_targets'])
    assert float(losses['decode_0.loss_ce']) == pytest.approx(
        float(d2['loss_sem_seg']), rel=1e-5)
    assert float(losses['decode_1.loss_point']) == pytest.approx(
        float(d2['loss_sem_seg_point']), rel=1e-5)
    # detectron2's records: the point loss's gradient of the point head's
    # first layer, the coarse loss's of the coarse predictor
    for name, loss, param in (('grad_fc1', 'decode_1.loss_point',
                               point_head.point_head.fcs[0].weight),
                              ('grad_coarse_pred', 'decode_0.loss_ce',
                               semantic.decode_head[0].conv_seg.weight)):
        grad, = torch.autograd.grad(losses[loss], param, retain_graph=True)
        expected = torch.from_numpy(d2[name])
        rel = (grad - expected).norm() / expected.norm()
        # float32 summation order: 1.6e-4 for grad_fc1 with one torch thread
        # on an AVX2 CPU (a test worker's), under 1e-4 with two; a wrong
        # target or point moves it to O(1)
        assert rel < 5e-4, (name, float(rel))
