"""Point supervision (PointSup): the point-annotation tool, the dataset and
pipeline on its output (resize, flip), bad annotations, and the RoI head's
loss on exactly the annotated points."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pycocotools.mask as mask_util
import pytest
import torch
from helpers import REPO, det_sample, feats, small_roi_head_cfg
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmpointrend.datasets import PointAnnotationError, sample_point_annotations

DEMO_PS_CFG = osp.join(
    REPO, 'configs/demo/point-rend_r18-tiny_fpn_shapes_point-sup.py')


@pytest.fixture(scope='module')
def point_json(shapes_data):
    """train.json -> points, with the command users run."""
    out = osp.join(shapes_data, 'train_points_n10.json')
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/dataset_converters/'
                 'coco_to_point_annotations.py'), shapes_data + 'train.json',
        out, '--num-points', '10', '--seed', '3'
    ],
                         capture_output=True,
                         text=True,
                         cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    return out


def test_tool_samples_labelled_points_inside_boxes(shapes_data, point_json):
    coco = json.load(open(shapes_data + 'train.json'))
    points = json.load(open(point_json))
    assert points == sample_point_annotations(coco, 10, seed=3)  # seeded
    assert points != sample_point_annotations(coco, 10, seed=4)
    sizes = {i['id']: (i['height'], i['width']) for i in coco['images']}
    positives = 0
    for ann, src in zip(points['annotations'], coco['annotations']):
        assert 'segmentation' not in ann and len(ann['point_coords']) == 10
        x, y, w, h = src['bbox']
        xy = np.array(ann['point_coords'])
        assert (xy[:, 0] >= np.floor(x)).all() and (xy[:, 0] <= x + w).all()
        assert (xy[:, 1] >= np.floor(y)).all() and (xy[:, 1] <= y + h).all()
        hh, ww = sizes[src['image_id']]
        mask = mask_util.decode(
            mask_util.merge(
                mask_util.frPyObjects(src['segmentation'], hh, ww)))
        assert ann['point_labels'] == mask[xy[:, 1], xy[:, 0]].tolist()
        positives += sum(ann['point_labels'])
    assert 0 < positives < 10 * len(points['annotations'])


def _dataset(shapes_data, ann_file, flip_prob):
    from mmdet.registry import DATASETS
    cfg = Config.fromfile(DEMO_PS_CFG).train_dataloader.dataset
    cfg.update(data_root=shapes_data, ann_file=ann_file)
    for t in cfg.pipeline:
        if t['type'] == 'RandomFlip':
            t['prob'] = flip_prob
        if t['type'] == 'RandomChoiceResize':  # one scale
            t['scales'] = [(320, 144)]
    return DATASETS.build(cfg)


def _image_points(sample):
    gt = sample.gt_instances
    boxes = gt.bboxes.tensor if hasattr(gt.bboxes, 'tensor') else gt.bboxes
    return boxes[:, None, :2] + gt.point_coords * (
        boxes[:, None, 2:] - boxes[:, None, :2])


def test_pipeline_moves_points_with_resize_and_flip(shapes_data, point_json):
    plain = _dataset(shapes_data, point_json, 0.0)[0]['data_samples']
    flipped = _dataset(shapes_data, point_json, 1.0)[0]['data_samples']
    gt = plain.gt_instances
    raw = json.load(open(point_json))
    img_id = plain.img_id
    anns = [a for a in raw['annotations'] if a['image_id'] == img_id]
    assert len(gt) == len(anns) and gt.point_coords.shape[1:] == (10, 2)
    assert 'masks' not in gt
    scale = torch.tensor(plain.scale_factor)
    expected = torch.tensor([a['point_coords'] for a in anns],
                            dtype=torch.float32) + 0.5
    torch.testing.assert_close(
        _image_points(plain), expected * scale, atol=1e-3, rtol=1e-4)
    assert gt.point_labels.tolist() == [a['point_labels'] for a in anns]
    # flipped: x mirrored across the resized image, labels unchanged
    width = plain.img_shape[1]
    mirrored = _image_points(plain).clone()
    mirrored[..., 0] = width - mirrored[..., 0]
    torch.testing.assert_close(
        _image_points(flipped), mirrored, atol=1e-3, rtol=1e-4)
    assert torch.equal(flipped.gt_instances.point_labels, gt.point_labels)


def test_bad_point_annotations(shapes_data, point_json, tmp_path, caplog):
    raw = json.load(open(point_json))
    first = raw['annotations'][0]['image_id']
    anns = [a for a in raw['annotations'] if a['image_id'] == first]
    bad = dict(raw)
    anns[0]['point_labels'] = [2] + anns[0]['point_labels'][1:]
    path = tmp_path / 'bad_label.json'
    path.write_text(json.dumps(bad))
    with pytest.raises(PointAnnotationError, match='0 .background. or 1'):
        _dataset(shapes_data, str(path), 0.0)[0]
    anns[0]['point_labels'][0] = 1
    anns[0]['point_coords'][0] = [-500, -500]  # outside its box
    anns[1]['point_coords'], anns[1]['point_labels'] = [], []
    path = tmp_path / 'odd.json'
    path.write_text(json.dumps(bad))
    sample = _dataset(shapes_data, str(path), 0.0)[0]['data_samples']
    labels = sample.gt_instances.point_labels
    assert labels[0, 0] == -1 and (labels[0, 1:] >= 0).all()
    assert (labels[1] == -1).all()  # padded: no usable point
    anns[1]['point_coords'] = [[1, 1]]  # one coordinate, no label
    path.write_text(json.dumps(bad))
    with pytest.raises(PointAnnotationError, match='point_labels'):
        _dataset(shapes_data, str(path), 0.0)[0]


def _point_sample():
    sample = det_sample(seed=0, num_gt=3)
    gt = sample.gt_instances
    del gt.masks
    g = torch.Generator().manual_seed(0)
    gt.point_coords = torch.rand(3, 6, 2, generator=g)
    gt.point_labels = torch.randint(0, 2, (3, 6), generator=g)
    gt.point_labels[0, :2] = -1  # padding
    # proposals: the GT boxes themselves (box-relative points unchanged)
    sample.proposals = InstanceData(
        bboxes=gt.bboxes.clone(), scores=torch.ones(3))
    return sample


def test_strategy_and_data_must_agree():
    """Point annotations with a mask strategy, or masks with the annotated
    strategy: a message saying what to set, not a KeyError in a loss."""
    from mmdet.registry import MODELS
    head = MODELS.build(small_roi_head_cfg())
    head.init_weights()
    sample = _point_sample()
    with pytest.raises(ValueError, match="point_sampling='annotated'"):
        head.loss(feats(batch=1), [sample.proposals], [sample])
    cfg = small_roi_head_cfg()
    cfg.train_cfg.point_sampling = 'annotated'
    head = MODELS.build(cfg)
    sample = det_sample(seed=0, num_gt=3)
    sample.proposals = InstanceData(
        bboxes=sample.gt_instances.bboxes.clone(), scores=torch.ones(3))
    with pytest.raises(ValueError, match='needs point annotations'):
        head.loss(feats(batch=1), [sample.proposals], [sample])


def test_roi_head_learns_from_exactly_the_annotated_points(monkeypatch):
    from mmdet.registry import MODELS
    cfg = small_roi_head_cfg()
    cfg.train_cfg.point_sampling = 'annotated'
    head = MODELS.build(cfg)
    head.init_weights()
    sample = _point_sample()
    gt = sample.gt_instances
    seen = {}
    original = type(head.point_head).predictor

    def spy(self, features, coarse, labels=None):
        predict = original(self, features, coarse, labels)

        def wrapped(points, regions):
            seen['points'] = points.detach().clone()
            return predict(points, regions)

        return wrapped

    monkeypatch.setattr(type(head.point_head), 'predictor', spy)
    torch.manual_seed(0)
    losses = head.loss(feats(batch=1), [sample.proposals], [sample])
    assert {'loss_mask', 'loss_point'} <= set(losses)
    total = losses['loss_mask'] + losses['loss_point']
    assert torch.isfinite(total) and total > 0
    total.backward()
    # every positive box predicted its GT instance's 6 points
    assert seen['points'].shape[1:] == (6, 2)
    for k in range(3):
        dist = (seen['points'] - gt.point_coords[k]).abs().amax((1, 2))
        assert dist.min() < 1e-4, k
