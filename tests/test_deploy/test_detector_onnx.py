"""The whole detector as one ONNX graph (issue 16): the graph in PyTorch is
the model, onnxruntime runs it at other sizes than traced and with no
detections, the standalone runner needs no torch, the CLI checks."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from deploy_helpers import INST_CFG, make_image
from helpers import REPO, run_tool

# the end-to-end tier (pytest --e2e; tests/conftest.py)
pytestmark = pytest.mark.e2e

TOOL = 'tools/deployment/pytorch2onnx.py'

# sizes that are not multiples of 32 after the demo test pipeline
SHAPES = [(96, 130, 3), (70, 100, 3)]


@pytest.fixture(scope='module')
def exported(detector, tmp_path_factory):
    """One export of the demo detector (score_thr 0: random weights)."""
    from mmpointrend.deploy import export_detector
    model, _ = detector
    root = tmp_path_factory.mktemp('onnx')
    images = [make_image(root, shape) for shape in SHAPES]
    path = str(root / 'det.onnx')
    info = export_detector(model, images[0], path)
    return path, images, info


def test_graph_in_pytorch_is_the_model(detector, tmp_path):
    """Our RPN / box head / NMS re-implementation equals mmdet's inference
    (same boxes, scores and labels; the masks pasted equal)."""
    from mmpointrend.deploy import DetectorGraph
    from mmpointrend.deploy.onnx_export import pipeline_input
    from mmpointrend.models.roi_heads import paste_masks
    model, _ = detector
    graph = DetectorGraph(model).eval()
    for shape in SHAPES:
        inputs, sample = pipeline_input(model.cfg, make_image(tmp_path, shape),
                                        'mmdet')
        with torch.no_grad():
            ref = model.test_step(
                dict(inputs=[inputs], data_samples=[sample]))[0]
            boxes, scores, labels, masks = graph(inputs[None].float())
        ref = ref.pred_instances
        assert len(ref) == len(boxes) > 0
        scale = boxes.new_tensor(sample.scale_factor).repeat(2)
        assert torch.allclose(boxes / scale, ref.bboxes, atol=1e-4)
        assert torch.allclose(scores, ref.scores, atol=1e-6)
        assert torch.equal(labels, ref.labels)
        pasted = paste_masks(masks, boxes / scale, *sample.ori_shape, 0.5)
        assert torch.equal(pasted, ref.masks)


def test_one_export_two_sizes(detector, exported):
    from mmpointrend.deploy import check_detector
    model, _ = detector
    path, images, info = exported
    assert 'NonMaxSuppression' in info['ops'] and 'RoiAlign' in info['ops']
    sizes = set()
    for img in images:
        report = check_detector(model, path, img)
        sizes.add(report['input_size'])
        assert report['num_pytorch'] == report['num_onnx'] > 0
        assert report['match_fraction'] == 1.0, report
        assert report['min_mask_iou'] >= 0.99, report
        assert report['max_score_diff'] < 1e-4
    assert len(sizes) == 2 and all(s[1] % 32 for s in sizes)


def test_no_detections(detector, tmp_path):
    """Traced with every candidate kept, then the threshold set: an image
    without detections gives empty outputs of the right shapes."""
    from mmpointrend.deploy import check_detector, export_detector, run_onnx
    from mmpointrend.deploy.onnx_export import pipeline_input
    model, _ = detector
    img = make_image(tmp_path, SHAPES[0])
    path = str(tmp_path / 'none.onnx')
    model.roi_head.test_cfg.score_thr = 0.99  # random weights: none pass
    try:
        export_detector(model, img, path)
        report = check_detector(model, path, img)
    finally:
        model.roi_head.test_cfg.score_thr = 0.0
    assert report['num_pytorch'] == report['num_onnx'] == 0
    inputs, _ = pipeline_input(model.cfg, img, 'mmdet')
    boxes, scores, labels, masks = run_onnx(
        path, dict(image=inputs[None].float().numpy()))
    assert boxes.shape == (0, 4) and scores.shape == labels.shape == (0, )
    assert masks.shape == (0, 224, 224)


def test_runner_needs_no_torch(detector, exported, tmp_path):
    """ort_infer.py as a user copies it: torch, mm* and mmpointrend cannot
    be imported, and it gives what check_detector compared."""
    import cv2

    from mmpointrend.deploy import ort_infer
    path, images, _ = exported
    runner = osp.join(REPO, 'mmpointrend', 'deploy', 'ort_infer.py')
    block = ('import sys\n'
             "for m in ('torch', 'mmcv', 'mmengine', 'mmdet', 'mmseg', "
             "'mmpointrend'):\n"
             '    sys.modules[m] = None\n'
             'import runpy\n'
             f'sys.argv = {[runner, path, images[1]]!r} + sys.argv[1:]\n'
             f"runpy.run_path({runner!r}, run_name='__main__')\n")
    out = subprocess.run([
        sys.executable, '-c', block, '--json',
        str(tmp_path / 'r.json'), '--out',
        str(tmp_path / 'r.png')
    ],
                         capture_output=True,
                         text=True,
                         cwd=str(tmp_path),
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.load(open(tmp_path / 'r.json'))
    session, meta = ort_infer.load_session(path)
    ref = ort_infer.predict(session, meta, cv2.imread(images[1]))
    assert got['labels'] == ref['labels'].tolist() and got['labels']
    assert got['mask_areas'] == ref['masks'].sum((1, 2)).tolist()
    # the masks as COCO RLE (mmdet's results json), decoded by pycocotools
    import pycocotools.mask as mask_util
    assert len(got['instances']) == len(ref['labels'])
    for inst, mask, box in zip(got['instances'], ref['masks'], ref['boxes']):
        rle = dict(inst['segmentation'])
        assert rle['size'] == list(mask.shape)
        rle['counts'] = rle['counts'].encode()
        assert np.array_equal(mask_util.decode(rle).astype(bool), mask)
        x, y, w, h = inst['bbox']
        assert np.allclose([x, y, x + w, y + h], box, atol=0.01)
    assert cv2.imread(str(tmp_path / 'r.png')).shape[:2] == SHAPES[1][:2]
    assert meta['resize']['keep_ratio'] and meta['mask_thr_binary'] == 0.5


def test_rle_equals_pycocotools():
    """ort_infer's numpy RLE (no pycocotools there) against
    pycocotools.mask.encode, byte for byte: random, empty, full, one-pixel
    and large masks, both first-pixel values."""
    import pycocotools.mask as mask_util

    from mmpointrend.deploy.ort_infer import mask_to_rle
    rng = np.random.default_rng(0)
    masks = [rng.random((h, w)) > 0.5 for h, w in rng.integers(1, 50, (40, 2))]
    masks += [np.zeros((7, 5), bool), np.ones((5, 7), bool)]
    one = np.zeros((9, 9), bool)
    one[4, 4] = True
    big = np.zeros((800, 1333), bool)
    big[37:790, 5:1300] = True  # runs > 2^15 need several 5-bit groups
    for mask in masks + [one, big, ~big]:
        ref = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
        got = mask_to_rle(mask)
        assert got['counts'] == ref['counts'].decode()
        assert got['size'] == list(ref['size'])


def test_numpy_paste_equals_the_models():
    from mmpointrend.deploy.ort_infer import paste_mask
    from mmpointrend.models.roi_heads import paste_masks
    rng = np.random.default_rng(0)
    probs = rng.random((6, 28, 28)).astype(np.float32)
    boxes = np.array(
        [[3.3, 4.1, 40.7, 33.2], [-10, -5, 20, 30], [50, 40, 90, 70.5],
         [10, 10, 10.4, 10.2], [20, 20, 10, 30], [0, 0, 64, 48]],
        dtype=np.float32)
    ref = paste_masks(
        torch.from_numpy(probs), torch.from_numpy(boxes), 48, 64, 0.5).numpy()
    got = np.stack(
        [paste_mask(p, b, 48, 64, 0.5) for p, b in zip(probs, boxes)])
    assert ref.any(axis=(1, 2))[[0, 1, 2, 5]].all()
    assert not got[4].any()  # an empty box pastes nothing
    assert np.mean(got != ref) < 1e-4


def test_export_tool(detector, exported, tmp_path):
    """Exit 0 and the report on agreement; exit 1 on disagreement (an
    impossible mask IoU demanded)."""
    _, ckpt = detector
    _, images, _ = exported
    args = [
        INST_CFG, ckpt, *images, '--out', tmp_path / 'd.onnx', '--cfg-options',
        'model.test_cfg.rcnn.score_thr=0.0'
    ]
    out = run_tool(TOOL, *args)
    assert out.returncode == 0, out.stderr[-3000:]
    reports = [
        json.loads(line) for line in out.stdout.splitlines()
        if line.startswith('{')
    ]
    assert len(reports) == 2 and all(r['num_onnx'] > 0 for r in reports)
    assert 'onnxruntime output matches PyTorch' in out.stdout
    bad = run_tool(TOOL, *args, '--min-mask-iou', '1.5')
    assert bad.returncode == 1 and 'disagree' in bad.stderr
    missing = run_tool(TOOL, *args[:2], tmp_path / 'nope.png')
    assert missing.returncode != 0
    assert 'nope.png: no such file' in missing.stderr


def test_refusals(detector):
    from mmpointrend.deploy import DetectorGraph
    model, _ = detector
    model.roi_head.test_cfg.adaptive_resolution = True
    try:
        with pytest.raises(ValueError, match='adaptive_resolution'):
            DetectorGraph(model)
    finally:
        model.roi_head.test_cfg.adaptive_resolution = False
    coder = model.roi_head.bbox_head.bbox_coder
    coder.add_ctr_clamp = True
    try:
        with pytest.raises(TypeError, match='add_ctr_clamp'):
            DetectorGraph(model)
    finally:
        coder.add_ctr_clamp = False
    nms = model.test_cfg.rpn.nms
    model.test_cfg.rpn.nms = dict(type='soft_nms', iou_threshold=0.7)
    try:
        with pytest.raises(ValueError, match='plain NMS'):
            DetectorGraph(model)
    finally:
        model.test_cfg.rpn.nms = nms
