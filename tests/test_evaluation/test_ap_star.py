"""AP*: building "COCO categories on LVIS annotations", the federated
protocol's not-exhaustive rule, agreement with the lvis API run directly,
and the np.float shim around lvis 0.5.3."""
import json
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmpointrend.evaluation import (LVISAPStarMetric, cocofy_lvis,
                                    lvis_evaluate, numpy_float_alias)
from mmpointrend.evaluation.ap_star import APStarDataError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
H = W = 100


def _poly(x0, y0, side):
    return [[x0, y0, x0 + side, y0, x0 + side, y0 + side, x0, y0 + side]]


def _ann(i, img, cat, x0, y0, side):
    return dict(
        id=i,
        image_id=img,
        category_id=cat,
        segmentation=_poly(x0, y0, side),
        area=side * side,
        bbox=[x0, y0, side, side])


def lvis_file(not_exhaustive=()):
    """LVIS v1 style: ids 10 person, 20 dog, 30 a non-COCO category; image 3
    is not a COCO val image."""
    return dict(
        info={},
        licenses=[],
        images=[
            dict(
                id=1,
                height=H,
                width=W,
                coco_url='http://x/val2017/1.jpg',
                neg_category_ids=[20, 30],
                not_exhaustive_category_ids=list(not_exhaustive)),
            dict(
                id=2,
                height=H,
                width=W,
                coco_url='x',
                neg_category_ids=[],
                not_exhaustive_category_ids=[30]),
            dict(
                id=3,
                height=H,
                width=W,
                coco_url='x',
                neg_category_ids=[],
                not_exhaustive_category_ids=[])
        ],
        categories=[
            dict(
                id=10,
                synset='person.n.01',
                name='person',
                frequency='f',
                image_count=2,
                instance_count=2),
            dict(
                id=20,
                synset='dog.n.01',
                name='dog',
                frequency='f',
                image_count=1,
                instance_count=1),
            dict(
                id=30,
                synset='zebra_crossing.n.01',
                name='zebra_crossing',
                frequency='r',
                image_count=1,
                instance_count=1)
        ],
        annotations=[
            _ann(1, 1, 10, 10, 10, 30),
            _ann(2, 2, 10, 50, 50, 40),
            _ann(3, 2, 20, 5, 5, 30),
            _ann(4, 2, 30, 60, 5, 20),
            _ann(5, 3, 10, 10, 10, 30)
        ])


COCO = dict(
    images=[
        dict(id=1, height=H, width=W, file_name='1.jpg'),
        dict(id=2, height=H, width=W, file_name='2.jpg')
    ],
    annotations=[],
    categories=[dict(id=1, name='person'),
                dict(id=18, name='dog')])


def test_cocofy_maps_categories_images_and_lists():
    out = cocofy_lvis(lvis_file(not_exhaustive=[10, 30]), COCO)
    assert [img['id'] for img in out['images']] == [1, 2]  # not image 3
    assert sorted(c['id'] for c in out['categories']) == [1, 18]
    assert [(a['image_id'], a['category_id']) for a in out['annotations']] \
        == [(1, 1), (2, 1), (2, 18)]  # the non-COCO annotation is gone
    img1 = out['images'][0]
    assert img1['neg_category_ids'] == [18]  # dog; zebra_crossing dropped
    assert img1['not_exhaustive_category_ids'] == [1]
    assert out['images'][1]['not_exhaustive_category_ids'] == []


def test_cocofy_rejects_files_that_are_not_lvis():
    with pytest.raises(APStarDataError, match='synset'):
        cocofy_lvis(dict(COCO), COCO)
    lvis = lvis_file()
    lvis['images'] = [
        dict(id=99, neg_category_ids=[], not_exhaustive_category_ids=[])
    ]
    with pytest.raises(APStarDataError, match='no image of the COCO file'):
        cocofy_lvis(lvis, COCO)


def _mask(x0, y0, side):
    m = np.zeros((H, W), bool)
    m[y0:y0 + side, x0:x0 + side] = True
    return m


def _run_metric(tmp_path, lvis, preds):
    lvis_path, coco_path = tmp_path / 'lvis.json', tmp_path / 'coco.json'
    lvis_path.write_text(json.dumps(lvis))
    coco_path.write_text(json.dumps(COCO))
    metric = LVISAPStarMetric(
        lvis_ann_file=str(lvis_path),
        coco_ann_file=str(coco_path),
        outfile_prefix=str(tmp_path / 'out'))
    # a COCO model's labels index the 80 COCO classes
    from mmdet.datasets import CocoDataset
    metric.dataset_meta = dict(classes=CocoDataset.METAINFO['classes'])
    for img_id in (1, 2):
        ps = [p for p in preds if p[0] == img_id]
        masks = np.stack([_mask(*p[2]) for p in ps]) if ps else \
            np.zeros((0, H, W), bool)
        boxes = [[x, y, x + s, y + s] for _, _, (x, y, s), _ in ps]
        metric.process({}, [
            dict(
                img_id=img_id,
                pred_instances=dict(
                    bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(
                        -1, 4),
                    scores=torch.tensor([p[3] for p in ps]),
                    labels=torch.tensor([p[1] for p in ps], dtype=torch.long),
                    masks=torch.from_numpy(masks)))
        ])
    return metric.evaluate(2)


PERSON, DOG = 0, 16  # indices in COCO's class list


def _perfect_plus_false_positive():
    return [
        (1, PERSON, (10, 10, 30), 0.6),  # matches image 1's person
        (1, PERSON, (60, 60, 30), 0.9),  # nothing there
        (2, PERSON, (50, 50, 40), 0.8),
        (2, DOG, (5, 5, 30), 0.8)
    ]


def test_not_exhaustive_false_positives_are_not_counted(tmp_path):
    # person, exhaustive: detections ranked FP (0.9), TP (0.8), TP (0.6):
    # precision at recall 1/2 and 1 is 1/2 and 2/3; interpolated precision is
    # 2/3 everywhere -> person AP 0.667; dog AP 1 -> mean 0.833
    res = _run_metric(tmp_path, lvis_file(), _perfect_plus_false_positive())
    assert res['apstar/segm_AP'] == pytest.approx(0.8333, abs=1e-3)
    # person not exhaustive in image 1: the unmatched 0.9 is ignored -> 1.0
    res = _run_metric(tmp_path, lvis_file(not_exhaustive=[10]),
                      _perfect_plus_false_positive())
    assert res['apstar/segm_AP'] == 1.0


def test_matches_the_lvis_api_run_directly(tmp_path):
    from lvis import LVIS, LVISEval, LVISResults
    preds = _perfect_plus_false_positive() + [(2, DOG, (8, 5, 30), 0.5),
                                              (2, PERSON, (45, 52, 40), 0.7)]
    res = _run_metric(tmp_path, lvis_file(), preds)
    gt_file = str(tmp_path / 'out.cocofied_lvis.json')  # what it built
    import pycocotools.mask as mask_util
    results = []
    for img, label, (x, y, s), score in preds:
        rle = mask_util.encode(
            np.asfortranarray(_mask(x, y, s).astype(np.uint8)))
        rle['counts'] = rle['counts'].decode()
        results.append(
            dict(
                image_id=img,
                category_id=[1, 18][label != 0],
                segmentation=rle,
                score=score))
    gt = LVIS(gt_file)
    ev = LVISEval(gt, LVISResults(gt, results), 'segm')
    np.float = float  # what lvis 0.5.3 needs, set by hand here
    try:
        ev.run()
    finally:
        del np.float
    direct = ev.get_results()
    for key in ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'):
        assert res[f'apstar/segm_{key}'] == pytest.approx(
            direct[key], abs=1e-4)
    assert 0 < res['apstar/segm_AP'] < 1


def test_empty_predictions_give_0(tmp_path):
    res = _run_metric(tmp_path, lvis_file(), [])
    assert res['apstar/segm_AP'] == 0.0


def test_numpy_float_shim_is_narrow():
    assert 'float' not in np.__dict__  # numpy >= 1.24: lvis would crash
    with numpy_float_alias():
        assert np.float is float
    assert 'float' not in np.__dict__


def test_lvis_crashes_without_the_shim(tmp_path):
    """The failure the shim exists for (lvis 0.5.3 on numpy >= 1.24)."""
    from lvis import LVIS, LVISEval
    lvis = cocofy_lvis(lvis_file(), COCO)
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(lvis))
    gt = LVIS(str(path))
    rle = __import__('pycocotools.mask').mask.encode(
        np.asfortranarray(_mask(10, 10, 30).astype(np.uint8)))
    rle['counts'] = rle['counts'].decode()
    ev = LVISEval(
        gt, [dict(image_id=1, category_id=1, segmentation=rle, score=1.0)],
        'segm')
    ev.evaluate()
    with pytest.raises(AttributeError, match='float'):
        ev.accumulate()
    # with the shim: person found in image 1 but not in image 2 -> precision
    # 1 at the 51 recall points 0 ... 0.5 of 101 -> 51/101; dog missed -> 0;
    # mean over the two categories = 51/202
    res = lvis_evaluate(
        str(path),
        [dict(image_id=1, category_id=1, segmentation=rle, score=1.0)])
    assert res['AP'] == pytest.approx(51 / 202)
    assert 'float' not in np.__dict__


@pytest.mark.e2e
def test_cocofy_tool(tmp_path):
    lvis_path, coco_path = tmp_path / 'lvis.json', tmp_path / 'coco.json'
    lvis_path.write_text(json.dumps(lvis_file()))
    coco_path.write_text(json.dumps(COCO))
    out = tmp_path / 'cocofied.json'
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/dataset_converters/'
                 'cocofy_lvis.py'),
        str(lvis_path),
        str(coco_path),
        str(out)
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(json.loads(out.read_text())['annotations']) == 3
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/dataset_converters/'
                 'cocofy_lvis.py'),
        str(bad),
        str(coco_path),
        str(out)
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode != 0 and 'not valid JSON' in run.stderr


@pytest.mark.e2e
def test_eval_ap_star_tool_on_saved_predictions(tmp_path):
    """tools/test.py --out stores masks as RLEs (bytes counts)."""
    import pickle

    import pycocotools.mask as mask_util
    lvis_path, coco_path = tmp_path / 'lvis.json', tmp_path / 'coco.json'
    lvis_path.write_text(json.dumps(lvis_file()))
    coco_path.write_text(json.dumps(COCO))
    preds = []
    for img_id, dets in ((1, [((10, 10, 30), PERSON)]),
                         (2, [((50, 50, 40), PERSON), ((5, 5, 30), DOG)])):
        preds.append(
            dict(
                img_id=img_id,
                pred_instances=dict(
                    bboxes=np.array([[x, y, x + s, y + s]
                                     for (x, y, s), _ in dets], np.float32),
                    scores=np.ones(len(dets), np.float32),
                    labels=np.array([lab for _, lab in dets]),
                    masks=[
                        mask_util.encode(
                            np.asfortranarray(_mask(*box).astype(np.uint8)))
                        for box, _ in dets
                    ])))
    with open(tmp_path / 'preds.pkl', 'wb') as f:
        pickle.dump(preds, f)
    run = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/analysis_tools/'
                 'eval_ap_star.py'),
        str(tmp_path / 'preds.pkl'), '--lvis',
        str(lvis_path), '--coco',
        str(coco_path)
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert 'apstar/segm_AP: 1.0000' in run.stdout


@pytest.mark.e2e
@pytest.mark.parametrize('lvis_version', ['v1', 'v0.5'])
def test_ap_star_config_through_tools_test(shapes_data, tmp_path,
                                           lvis_version):
    """The README's one command: tools/test.py on the AP* config (LVIS v1 or,
    as the paper, v0.5) with the two json files given on the command line,
    for a converted zoo R50 (random weights) on generated images relabelled
    with COCO categories."""
    import detectron2_to_mmpointrend as converter
    from detectron2_layout import pointrend_instance, write_zoo_file
    from mmdet.datasets import CocoDataset
    from mmengine.config import Config

    from mmpointrend.evaluation import COCO_LVIS_SYNSETS

    shapes = json.loads(open(shapes_data + 'val.json').read())
    to_coco = {1: 1, 2: 2, 3: 3, 4: 18}  # star/ring/glyph/polygon -> COCO ids
    coco = dict(
        images=shapes['images'],
        annotations=[
            dict(a, category_id=to_coco[a['category_id']])
            for a in shapes['annotations']
        ],
        categories=[dict(id=i, name=n) for i, n, _ in COCO_LVIS_SYNSETS])
    synset = {i: s for i, _, s in COCO_LVIS_SYNSETS}
    # LVIS v0.5 images still carry COCO's file_name; v1 only a coco_url
    lvis = dict(
        images=[
            dict(
                {
                    k: v
                    for k, v in img.items()
                    if k != 'file_name' or lvis_version == 'v0.5'
                },
                coco_url='http://images.cocodataset.org/val2017/' +
                img['file_name'],
                neg_category_ids=[],
                not_exhaustive_category_ids=[]) for img in shapes['images']
        ],
        annotations=[
            dict(a, category_id=1000 + to_coco[a['category_id']])
            for a in shapes['annotations']
        ],
        categories=[
            dict(id=1000 + c, synset=synset[c], name=synset[c], frequency='f')
            for c in to_coco.values()
        ])
    coco_path, lvis_path = tmp_path / 'coco.json', tmp_path / 'lvis.json'
    coco_path.write_text(json.dumps(coco))
    lvis_path.write_text(json.dumps(lvis))

    cfg = Config.fromfile(
        osp.join(
            REPO, 'configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco_'
            'ap-star' + ('-lvis-v0.5' if lvis_version == 'v0.5' else '') +
            '.py'))
    assert lvis_version in cfg.test_evaluator[2].lvis_ann_file
    demo = Config.fromfile(
        osp.join(REPO, 'configs/demo/mask-rcnn_r18-tiny_fpn_shapes.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.test_cfg.rcnn.update(score_thr=0.0, max_per_img=20)
    cfg.test_dataloader = demo.test_dataloader
    cfg.test_dataloader.update(num_workers=0, batch_size=4)
    cfg.test_dataloader.dataset.update(
        data_root=shapes_data,
        ann_file=str(coco_path),
        metainfo=dict(classes=CocoDataset.METAINFO['classes']))
    for evaluator in cfg.test_evaluator[:2]:
        evaluator.ann_file = str(coco_path)
    cfg_path = tmp_path / 'ap_star.py'
    cfg.dump(str(cfg_path))
    src, ckpt = tmp_path / 'model_final.pkl', tmp_path / 'r50.pth'
    write_zoo_file(src, pointrend_instance())
    converter.main([str(src), str(ckpt), '--config', str(cfg_path)])
    out = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/test.py'),
        str(cfg_path),
        str(ckpt), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'test_evaluator.2.lvis_ann_file={lvis_path}',
        f'test_evaluator.2.coco_ann_file={coco_path}',
        f'test_evaluator.2.outfile_prefix={tmp_path / "apstar"}'
    ],
                         capture_output=True,
                         text=True,
                         cwd=REPO,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    for key in ('coco/segm_mAP', 'boundary/bAP', 'apstar/segm_AP'):
        assert re.search(key + r': -?\d', log), key
    built = json.loads((tmp_path / 'apstar.cocofied_lvis.json').read_text())
    assert sorted(c['id'] for c in built['categories']) == [1, 2, 3, 18]
