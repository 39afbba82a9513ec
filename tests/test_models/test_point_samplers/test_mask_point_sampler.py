"""MaskPointSampler: the authors' labels and coarse targets from polygons
and bitmaps, the 'nearest' choice, errors that name the setting, empty
batches."""
import numpy as np
import pytest
import torch
from helpers import det_sample, positive_sampling_result
from mmdet.structures.bbox import bbox2roi
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

from mmpointrend.models.point_samplers import MaskPointSampler, PositiveBoxes
from mmpointrend.models.uncertainty import build_uncertainty


def sample_batch(sampler, polygons=True, seed=0):
    """Two images, jittered GT boxes as positives, importance points."""
    torch.manual_seed(seed)
    results, gts = [], []
    for i in range(2):
        gt = det_sample(
            seed=seed + i, num_gt=3, polygons=polygons).gt_instances
        gt_inds = torch.tensor([0, 1, 2, 0])
        boxes = gt.bboxes[gt_inds] + torch.randn(4, 4) * 3
        results.append(positive_sampling_result(gt, boxes, gt_inds))
        gts.append(gt)
    rois = bbox2roi([r.pos_priors for r in results])
    labels = torch.cat([r.pos_gt_labels for r in results])
    coarse = torch.randn(len(rois), 5, 7, 7)
    points = sampler.sample(
        PositiveBoxes(rois, labels, coarse, results, gts),
        build_uncertainty('binary_uncertainty'))
    return points, results, gts, rois


def full_raster(gt):
    """detectron2's full-image bitmask of each instance (mmdet's bitmaps
    are pycocotools' rasters already)."""
    masks = gt.masks
    if isinstance(masks, BitmapMasks):
        return masks.masks
    return np.stack([
        mask_utils.decode(
            mask_utils.merge(
                mask_utils.frPyObjects(parts, masks.height, masks.width)))
        for parts in masks.masks
    ])


@pytest.mark.parametrize('polygons', [True, False])
def test_labels_and_targets_are_the_full_rasters(polygons):
    import torch.nn.functional as F
    from mmcv.ops import roi_align
    points, results, gts, rois = sample_batch(MaskPointSampler(), polygons)
    assert points.coords.shape == (8, 196, 2)
    img_points = rois[:, None, 1:3] + points.coords * (
        rois[:, None, 3:] - rois[:, None, 1:3])
    expected, targets = [], []
    for i, (res, gt) in enumerate(zip(results, gts)):
        full = torch.from_numpy(full_raster(gt)).float()[:, None]
        inds = res.pos_assigned_gt_inds
        grid = 2 * img_points[4 * i:4 * i + 4] / 256 - 1
        expected.append(
            F.grid_sample(full[inds], grid[:, :, None],
                          align_corners=False)[:, 0, :, 0])
        boxes = torch.cat([inds[:, None].float(), res.pos_priors], 1)
        targets.append(
            roi_align(full.contiguous(), boxes.contiguous(),
                      (7, 7), 1.0, 0, 'avg', True)[:, 0] >= 0.5)
    torch.testing.assert_close(
        points.labels, torch.cat(expected), atol=1e-5, rtol=0)
    assert ((points.labels > 0) & (points.labels < 1)).any()
    np.testing.assert_array_equal(
        points.ground_truth.mask_targets(7).numpy(),
        torch.cat(targets).float().numpy())


def test_nearest_labels_are_zero_or_one():
    bilinear, *_ = sample_batch(MaskPointSampler())
    nearest, *_ = sample_batch(MaskPointSampler(point_labels='nearest'))
    assert torch.equal(bilinear.coords, nearest.coords)
    assert set(nearest.labels.unique().tolist()) == {0.0, 1.0}
    # the two agree away from the boundary
    far = (bilinear.labels == 0) | (bilinear.labels == 1)
    assert far.float().mean() > 0.5
    assert torch.equal(bilinear.labels[far], nearest.labels[far])


def test_settings_errors_name_the_setting():
    with pytest.raises(ValueError, match="'annotated'"):
        MaskPointSampler(mode='annotated')
    with pytest.raises(ValueError, match='point_labels'):
        MaskPointSampler(point_labels='bicubic')


def test_ground_truth_without_masks_or_with_other_masks():
    sampler = MaskPointSampler(mode='grid')
    gt = det_sample(num_gt=2).gt_instances
    res = positive_sampling_result(gt, gt.bboxes, torch.tensor([0, 1]))
    rois = bbox2roi([gt.bboxes])
    no_masks = InstanceData(bboxes=gt.bboxes, labels=gt.labels)
    with pytest.raises(ValueError, match="point_sampling='annotated'"):
        sampler.sample(
            PositiveBoxes(rois, gt.labels, torch.zeros(2, 5, 7, 7), [res],
                          [no_masks]), None)
    other = InstanceData(
        bboxes=gt.bboxes, labels=gt.labels, masks=['rle', 'rle'])
    with pytest.raises(TypeError, match='BitmapMasks or PolygonMasks'):
        sampler.sample(
            PositiveBoxes(rois, gt.labels, torch.zeros(2, 5, 7, 7), [res],
                          [other]), None)


def test_no_positive_boxes():
    sampler = MaskPointSampler(mode='uniform')
    points = sampler.sample(
        PositiveBoxes(
            torch.zeros(0, 5), torch.zeros(0, dtype=torch.long),
            torch.zeros(0, 5, 7, 7), [], []), None)
    assert points.labels.shape == (0, 196) and points.ground_truth is None
