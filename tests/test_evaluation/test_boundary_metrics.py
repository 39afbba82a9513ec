"""Boundary IoU / Boundary AP / semantic boundary metrics on hand-made
cases whose answers are worked out in the comments."""
import json

import numpy as np
import pytest
import torch
from mmdet.evaluation.metrics import CocoMetric

from mmpointrend.evaluation import (CocoBoundaryMetric, SegBoundaryMetric,
                                    boundary_band, boundary_dilation,
                                    boundary_iou)


def square(size, x0, y0, side):
    m = np.zeros((size, size), bool)
    m[y0:y0 + side, x0:x0 + side] = True
    return m


def test_band_of_a_square():
    m = square(30, 10, 10, 10)
    # d = 1: the outer ring of a 10x10 square, 100 - 8*8 = 36 pixels
    assert boundary_band(m, 1).sum() == 36
    # d = 2: 100 - 6*6 = 64
    assert boundary_band(m, 2).sum() == 64
    # a wide band is the whole mask
    assert boundary_band(m, 5).sum() == 100
    assert boundary_iou(m, m, 2) == 1.0
    assert boundary_iou(np.zeros_like(m), np.zeros_like(m), 2) == 1.0


def test_image_frame_counts_for_instances_only():
    full = np.ones((8, 8), bool)
    assert boundary_band(full, 1).sum() == 64 - 36  # frame of width 1
    assert boundary_band(full, 1, image_border=False).sum() == 0


def test_dilation_from_the_diagonal():
    # 2% of the diagonal of 200x200 (282.8) = 5.66 -> 6 pixels
    assert boundary_dilation(200, 200) == 6
    assert boundary_dilation(10, 10) == 1  # at least one pixel
    assert boundary_dilation(200, 200, pixels=3) == 3
    with pytest.raises(ValueError):
        boundary_dilation(10, 10, ratio=0)


# --- Boundary AP -----------------------------------------------------------

SIZE = 200


def _rle(mask):
    import pycocotools.mask as mask_util
    r = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    r['counts'] = r['counts'].decode()
    return r


def _gt_file(tmp_path, masks):
    anns = [
        dict(
            id=i + 1,
            image_id=1,
            category_id=1,
            iscrowd=0,
            segmentation=_rle(m),
            area=int(m.sum()),
            bbox=[
                float(np.nonzero(m)[1].min()),
                float(np.nonzero(m)[0].min()),
                float(np.ptp(np.nonzero(m)[1]) + 1),
                float(np.ptp(np.nonzero(m)[0]) + 1)
            ]) for i, m in enumerate(masks)
    ]
    gt = dict(
        images=[dict(id=1, width=SIZE, height=SIZE, file_name='a.png')],
        annotations=anns,
        categories=[dict(id=1, name='thing')])
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(gt))
    return str(path)


def _evaluate(metric, masks, scores):
    metric.dataset_meta = dict(classes=('thing', ))
    masks = np.asarray(masks, bool).reshape(-1, SIZE, SIZE)
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    pred = dict(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        scores=torch.tensor(scores, dtype=torch.float32),
        labels=torch.zeros(len(scores), dtype=torch.long),
        masks=torch.from_numpy(masks))
    sample = dict(img_id=1, ori_shape=(SIZE, SIZE), pred_instances=pred)
    metric.process({}, [sample])
    return metric.evaluate(1)


def test_perfect_masks_give_100(tmp_path):
    gt = square(SIZE, 50, 50, 40)
    ann = _gt_file(tmp_path, [gt])
    res = _evaluate(CocoBoundaryMetric(ann_file=ann), [gt], [0.9])
    assert res['boundary/bAP'] == 1.0
    assert res['boundary/bAP_m'] == 1.0
    assert res['boundary/bAP_s'] == -1  # no small ground truth


def test_two_pixel_shift_hurts_boundary_ap_much_more(tmp_path):
    gt = square(SIZE, 50, 50, 40)
    moved = square(SIZE, 52, 50, 40)
    ann = _gt_file(tmp_path, [gt])
    # mask IoU = 38*40 / (42*40) = 0.905: matched at 0.50 ... 0.90, 9 of the
    # 10 thresholds -> mask AP 0.9.
    # d = 6 (2% of the diagonal); the band of a 40x40 square is
    # 1600 - 28*28 = 816 px; shifted by 2: rows 0-5 and 34-39 overlap on 38
    # columns (12*38 = 456), rows 6-33 on 4 + 4 columns (28*8 = 224):
    # 680 / (2*816 - 680) = 680 / 952 = 0.714 -> min(0.905, 0.714) matches
    # at 0.50 ... 0.70, 5 of 10 -> Boundary AP 0.5.
    mask_ap = _evaluate(
        CocoMetric(ann_file=ann, metric='segm'), [moved],
        [0.9])['coco/segm_mAP']
    b = _evaluate(CocoBoundaryMetric(ann_file=ann), [moved], [0.9])
    assert mask_ap == 0.9
    assert b['boundary/bAP'] == 0.5
    assert b['boundary/bAP_50'] == 1.0 and b['boundary/bAP_75'] == 0.0


def test_fixed_band_width(tmp_path):
    gt = square(SIZE, 50, 50, 40)
    moved = square(SIZE, 52, 50, 40)
    ann = _gt_file(tmp_path, [gt])
    # d = 2: bands of 1600 - 36*36 = 304 px overlap on rows 0-1, 38-39 over
    # 38 columns = 152 -> 152 / (608 - 152) = 1/3 < 0.5: never matched
    b = _evaluate(
        CocoBoundaryMetric(ann_file=ann, dilation_pixels=2), [moved], [0.9])
    assert b['boundary/bAP'] == 0.0


def test_empty_predictions_give_0(tmp_path):
    ann = _gt_file(tmp_path, [square(SIZE, 50, 50, 40)])
    res = _evaluate(
        CocoBoundaryMetric(ann_file=ann), np.zeros((0, SIZE, SIZE)), [])
    assert all(v == 0 for v in res.values()) and len(res) == 6


def test_boundary_metric_refuses_bbox():
    with pytest.raises(ValueError, match='masks only'):
        CocoBoundaryMetric(metric='bbox')


# --- semantic ----------------------------------------------------------------


def _seg(metric, pred, gt):
    metric.dataset_meta = dict(classes=('a', 'b'))
    # what mmseg's evaluator passes: SegDataSample.to_dict()
    sample = dict(
        pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
        gt_sem_seg=dict(data=torch.from_numpy(gt)[None]))
    metric.process({}, [sample])
    return metric.evaluate(1)


def _halves(split):
    m = np.ones((20, 20), np.int64)
    m[:, :split] = 0
    return m


def test_semantic_perfect_and_shifted():
    gt = _halves(10)
    res = _seg(SegBoundaryMetric(dilation_pixels=1), gt.copy(), gt)
    assert res == {'boundary/bIoU': 100.0, 'boundary/bF': 100.0}
    # boundary moved by one column. d = 1: class a's band is column 9 in the
    # ground truth, column 10 in the prediction: IoU 0 (same for b); but each
    # contour pixel is within 1 px of the other contour: F = 100
    res = _seg(SegBoundaryMetric(dilation_pixels=1), _halves(11), gt)
    assert res == {'boundary/bIoU': 0.0, 'boundary/bF': 100.0}
    # d = 2: bands of two columns overlap on one: 20 / 60 -> 33.33
    res = _seg(SegBoundaryMetric(dilation_pixels=2), _halves(11), gt)
    assert res['boundary/bIoU'] == 33.33


def test_semantic_ignore_label_is_not_a_boundary():
    gt = _halves(10)
    gt[:, 15:] = 255  # ignored: its edge at column 15 is no contour
    pred = _halves(10)
    res = _seg(SegBoundaryMetric(dilation_pixels=1), pred, gt)
    assert res == {'boundary/bIoU': 100.0, 'boundary/bF': 100.0}


@pytest.mark.parametrize('image_border', [True, False])
def test_band_equals_iterated_3x3_erosion(image_border):
    """The one-pass square erosion on the mask's box equals the definition
    (d erosions with a 3x3 kernel on the whole image) on random blobs."""
    import cv2
    rng = np.random.default_rng(0)
    for trial in range(20):
        m = (cv2.GaussianBlur(rng.random((40, 50)), (0, 0), 3) > 0.5)
        if trial % 3 == 0:
            m[:, :5] = True  # touch the frame
        d = int(rng.integers(1, 6))
        border = cv2.BORDER_CONSTANT if image_border else \
            cv2.BORDER_REPLICATE
        padded = cv2.copyMakeBorder(
            m.astype(np.uint8), 1, 1, 1, 1, border, value=0)
        eroded = cv2.erode(
            padded, np.ones((3, 3), np.uint8), iterations=d)[1:-1, 1:-1]
        expected = m & (eroded == 0)
        assert np.array_equal(boundary_band(m, d, image_border), expected)
