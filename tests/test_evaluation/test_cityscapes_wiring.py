"""Cityscapes: the data preparation command and the official metrics the
configs use (mmdet's CityScapesMetric, mmseg's CityscapesMetric, both via
cityscapesscripts) on a generated city with perfect predictions."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
H, W = 64, 128
NAME = 'city_000000_000019'
# cityscapes label ids: sky 23, road 7, person 24, car 26
OBJECTS = [('sky', 23, (0, 0, W, H // 2)), ('road', 7, (0, H // 2, W, H)),
           ('car', 26, (10, 30, 40, 50)), ('person', 24, (80, 20, 90, 55))]


@pytest.fixture(scope='module')
def city(tmp_path_factory):
    root = tmp_path_factory.mktemp('cityscapes')
    for split in ('train', 'val', 'test'):  # mmdet's converter wants all
        img_dir = root / 'leftImg8bit' / split / 'city'
        gt_dir = root / 'gtFine' / split / 'city'
        img_dir.mkdir(parents=True)
        gt_dir.mkdir(parents=True)
        label = np.zeros((H, W), np.uint8)
        inst = np.zeros((H, W), np.int32)
        objects = []
        for k, (name, lid, (x0, y0, x1, y1)) in enumerate(OBJECTS):
            label[y0:y1, x0:x1] = lid
            inst[y0:y1, x0:x1] = lid * 1000 if name in ('car', 'person') \
                else lid
            objects.append(
                dict(
                    label=name,
                    polygon=[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
        cv2.imwrite(
            str(img_dir / f'{NAME}_leftImg8bit.png'),
            np.random.default_rng(0).integers(
                0, 255, (H, W, 3), dtype=np.uint8))
        cv2.imwrite(str(gt_dir / f'{NAME}_gtFine_labelIds.png'), label)
        cv2.imwrite(
            str(gt_dir / f'{NAME}_gtFine_instanceIds.png'),
            inst.astype(np.uint16))
        (gt_dir / f'{NAME}_gtFine_polygons.json').write_text(
            json.dumps(dict(imgHeight=H, imgWidth=W, objects=objects)))
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/dataset_converters/'
                 'cityscapes.py'),
        str(root)
    ],
                         capture_output=True,
                         text=True,
                         cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    return root


def test_conversion_writes_coco_json_and_train_ids(city):
    ann = json.loads((city / 'annotations' /
                      'instancesonly_filtered_gtFine_val.json').read_text())
    assert sorted(a['category_id'] for a in ann['annotations']) == [24, 26]
    train_ids = cv2.imread(
        str(city / 'gtFine/val/city' / f'{NAME}_gtFine_labelTrainIds.png'), 0)
    # road 0, sky 10, person 11, car 13
    assert set(np.unique(train_ids)) == {0, 10, 11, 13}


def test_official_semantic_metric_on_perfect_prediction(city, tmp_path):
    from mmseg.registry import METRICS
    cfg = Config.fromfile(
        osp.join(
            REPO, 'configs/point_rend_seg/'
            'point-rend_fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py'))
    metric_cfg = next(m for m in cfg.test_evaluator
                      if m['type'] == 'CityscapesMetric')
    metric_cfg.output_dir = str(tmp_path / 'out')
    with DefaultScope.overwrite_default_scope('mmseg'):
        metric = METRICS.build(metric_cfg)
    seg = str(city / 'gtFine/val/city' / f'{NAME}_gtFine_labelTrainIds.png')
    # the prediction, in train ids, of exactly the labelIds ground truth the
    # official script reads (the polygon rendering differs at edges)
    label_ids = cv2.imread(seg.replace('labelTrainIds', 'labelIds'), 0)
    train_id = {7: 0, 23: 10, 24: 11, 26: 13}
    pred = torch.from_numpy(np.vectorize(train_id.get)(label_ids))[None]
    metric.process({}, [
        dict(
            pred_sem_seg=dict(data=pred),
            img_path=str(
                city / 'leftImg8bit/val/city' / f'{NAME}_leftImg8bit.png'),
            seg_map_path=seg)
    ])
    res = metric.compute_metrics(metric.results)
    assert res['averageScoreCategories'] == pytest.approx(1.0)


def test_official_instance_metric_on_perfect_prediction(city, tmp_path):
    from mmdet.datasets import CityscapesDataset
    from mmdet.registry import METRICS
    cfg = Config.fromfile(
        osp.join(
            REPO, 'configs/point_rend/point-rend_r50-caffe_fpn_ms-24k_'
            'cityscapes.py'))
    metric_cfg = next(m for m in cfg.test_evaluator
                      if m['type'] == 'CityScapesMetric')
    metric_cfg.seg_prefix = str(city / 'gtFine/val')
    metric_cfg.outfile_prefix = str(tmp_path / 'out')
    metric = METRICS.build(metric_cfg)
    metric.dataset_meta = CityscapesDataset.METAINFO
    masks, labels = [], []
    classes = CityscapesDataset.METAINFO['classes']
    for name, _, (x0, y0, x1, y1) in OBJECTS[2:]:
        m = np.zeros((H, W), bool)
        m[y0:y1, x0:x1] = True
        masks.append(m)
        labels.append(classes.index(name))
    metric.process({}, [
        dict(
            img_path=str(
                city / 'leftImg8bit/val/city' / f'{NAME}_leftImg8bit.png'),
            pred_instances=dict(
                masks=torch.from_numpy(np.stack(masks)),
                labels=torch.tensor(labels),
                scores=torch.ones(2)))
    ])
    res = metric.compute_metrics(metric.results)
    assert res['mAP'] == pytest.approx(1.0)


CITYSCAPES_TRAIN_CONFIGS = [
    'configs/mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-24k_cityscapes.py',
    'configs/point_rend/point-rend_r50-caffe_fpn_ms-24k_cityscapes.py',
    'configs/sem_fpn/fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py',
    'configs/sem_fpn/fpn_r101-p3p5_8xb4-65k_cityscapes-512x1024.py',
    'configs/point_rend_seg/'
    'point-rend_fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py',
    'configs/point_rend_seg/'
    'point-rend_fpn_r101-p3p5_8xb4-65k_cityscapes-512x1024.py',
    'configs/point_rend_seg/'
    'point-rend_fpn_r50-mmseg_4xb2-80k_cityscapes-512x1024.py',
    'configs/deeplabv3/deeplabv3_r101-d16_8xb2-90k_cityscapes-768x768.py',
    'configs/point_rend_seg/'
    'point-rend_deeplabv3_r101-d16_8xb2-90k_cityscapes-768x768.py',
]


@pytest.mark.parametrize('config', CITYSCAPES_TRAIN_CONFIGS)
def test_train_pipeline_keeps_the_converted_ground_truth(city, config):
    """Each Cityscapes config's own train dataset and pipeline, on what the
    preparation command wrote (mmdet's converter: RLE masks; mmseg's:
    labelTrainIds): every instance / labelled pixel reaches the model."""
    from mmengine.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO, config))
    scope = cfg.get('default_scope', 'mmdet')
    dataset = cfg.train_dataloader.dataset
    while 'dataset' in dataset:  # RepeatDataset & co.
        dataset = dataset.dataset
    dataset.data_root = str(city) + '/'
    if scope == 'mmdet':
        dataset.ann_file = str(city / 'annotations' /
                               'instancesonly_filtered_gtFine_train.json')
    with DefaultScope.overwrite_default_scope(scope):
        sample = DATASETS.build(dataset)[0]['data_samples']
    if scope == 'mmdet':
        gt = sample.gt_instances
        classes = ('person', 'rider', 'car', 'truck', 'bus', 'train',
                   'motorcycle', 'bicycle')
        assert sorted(classes[i]
                      for i in gt.labels.tolist()) == ['car', 'person']
        assert len(sample.ignored_instances) == 0
        # the masks are the converter's rectangles, at the resized scale
        areas = gt.masks.areas / float(np.prod(sample.scale_factor))
        boxes = [OBJECTS[2][2], OBJECTS[3][2]]
        expected = sorted((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes)
        np.testing.assert_allclose(sorted(areas), expected, rtol=0.1)
    else:
        labels = set(sample.gt_sem_seg.data.unique().tolist())
        # road 0, sky 10, person 11, car 13 (train ids); crops may cut some
        assert labels <= {0, 10, 11, 13, 255} and len(labels - {255}) >= 1
