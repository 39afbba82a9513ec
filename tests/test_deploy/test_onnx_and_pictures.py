"""ONNX export checked with onnxruntime, the subdivision pictures and the
image demo, on the demo models (random weights: the graphs, not the
accuracy, are under test)."""
import os
import os.path as osp

import cv2
import pytest
import torch
from deploy_helpers import INST_CFG, SEM_CFG
from deploy_helpers import make_image as _image
from helpers import run_tool

# the end-to-end tier (pytest --e2e; tests/conftest.py)
pytestmark = pytest.mark.e2e


@pytest.mark.parametrize('shape', [(96, 96, 3), (96, 130, 3)])
def test_instance_mask_graph_matches_onnxruntime(detector, tmp_path, shape):
    """(96, 130) becomes 160x217 in the test pipeline: padded to 160x224
    with the mean colour, as the data preprocessor pads."""
    from mmpointrend.deploy import check_instance, export_instance
    model, _ = detector
    path = str(tmp_path / 'm.onnx')
    exported = export_instance(
        INST_CFG,
        None,
        _image(tmp_path, shape),
        path,
        num_boxes=6,
        score_thr=0.0,
        model=model)
    report = check_instance(model, path, exported)
    assert report['num_boxes'] == 6
    assert report['input_size'][0] % 32 == 0 == report['input_size'][1] % 32
    assert report['max_abs_diff'] < 1e-3  # float32, other kernels
    assert report['mask_mismatch'] == 0.0


def test_semantic_graph_one_export_any_size(segmentor, tmp_path):
    """Traced at the scene's size, run at sizes that are not multiples of
    32 (mmseg does not pad at test time): the labels of the exported file
    run by ort_infer equal mmseg's inference_model's."""
    from mmpointrend.deploy import check_semantic, export_semantic
    model, _, img = segmentor
    path = str(tmp_path / 's.onnx')
    info = export_semantic(model, img, path)
    sizes = {info['export_size']}
    for shape in [(100, 150, 3), (97, 131, 3)]:
        report = check_semantic(model, path, _image(tmp_path, shape))
        sizes.add(report['input_size'])
        assert report['label_mismatch'] == 0.0, report
    assert len(sizes) == 3


def test_semantic_export_refuses_slide_inference(segmentor):
    from mmpointrend.deploy import SemanticGraph
    model, _, _ = segmentor
    model.test_cfg.mode = 'slide'
    try:
        with pytest.raises(ValueError, match="mode='whole'"):
            SemanticGraph(model)
    finally:
        model.test_cfg.mode = 'whole'


def test_export_tool_cli(segmentor, tmp_path):
    _, ckpt, img = segmentor
    out = run_tool('tools/deployment/pytorch2onnx.py', SEM_CFG, ckpt, img,
                   '--out', tmp_path / 'seg.onnx')
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'onnxruntime output matches PyTorch' in out.stdout
    assert (tmp_path / 'seg.onnx').stat().st_size > 1e5


def test_export_refuses_adaptive_resolution(detector):
    from mmpointrend.deploy import InstanceMaskGraph
    model, _ = detector
    model.roi_head.test_cfg.adaptive_resolution = True
    try:
        with pytest.raises(ValueError, match='adaptive_resolution'):
            InstanceMaskGraph(model)
    finally:
        model.roi_head.test_cfg.adaptive_resolution = False


def test_subdivision_step_callback_sees_every_step():
    from mmpointrend.models.utils import binary_uncertainty, subdivide
    logits = torch.randn(3, 1, 7, 7)
    predicted = []

    def predict(points, regions):
        predicted.append(torch.rand(len(regions), 1, points.shape[1]) + 2)
        return predicted[-1]

    records = []
    out = subdivide(
        logits,
        predict,
        binary_uncertainty,
        5,
        28 * 28,
        on_step=records.append)
    assert out.shape[-1] == 224
    assert [r['upsampled'].shape[-1]
            for r in records] == [14, 28, 56, 112, 224]
    # 7 -> 14 is only upsampled: the 28x28 step predicts all its 784 cells
    assert records[0]['indices'] is None
    assert [r['indices'].shape[1] for r in records[1:]] == [784] * 4
    assert torch.equal(records[0]['input'], logits)
    # the refined cells hold the predictions afterwards, and the record of
    # the upsampled logits is a copy taken before
    last = records[-1]
    index = last['indices'][:, None]
    assert torch.equal(last['output'].flatten(2).gather(2, index),
                       predicted[-1])
    assert not torch.equal(last['upsampled'].flatten(2).gather(2, index),
                           predicted[-1])
    assert torch.equal(last['output'], out)


def test_refine_masks_callback_names_each_chunk(detector):
    """Chunks report their first box, so pictures need no single chunk."""
    model, _ = detector
    head = model.roi_head
    rois = torch.tensor([[0., 4., 4., 40., 50.]] * 7)
    x = tuple(torch.randn(1, 64, 96 // s, 96 // s) for s in (4, 8, 16, 32, 64))
    records = []
    features = head.mask_roi_extractor.point_features(x, rois)
    per_box = head.point_head.bytes_per_point(features) * 784 / 2**20
    head.test_cfg.chunk_memory_mb = 3.5 * per_box  # 3 boxes a chunk
    try:
        with torch.no_grad():
            head.refine_masks(
                x,
                rois,
                torch.zeros(7, dtype=torch.long),
                on_step=records.append)
    finally:
        head.test_cfg.chunk_memory_mb = None
    assert sorted({r['region_offset'] for r in records}) == [0, 3, 6]
    assert [r['input'].shape[0] for r in records
            if r['region_offset'] == 6][0] == 1


def test_instance_subdivision_pictures(detector, tmp_path):
    from mmpointrend.visualization import instance_subdivision_pictures
    model, _ = detector
    paths = instance_subdivision_pictures(
        model,
        _image(tmp_path, (96, 96, 3)),
        str(tmp_path / 'vis'),
        max_objects=2,
        score_thr=0.0)
    assert len(paths) == 2
    strip = cv2.imread(paths[0])
    # crop, coarse, the 4 steps with points (28..224), final: 7 panels
    assert strip.shape[1] == 7 * 224 + 6 * 4


def test_vis_tool_and_image_demo(detector, segmentor, tmp_path):
    _, det_ckpt = detector
    _, seg_ckpt, seg_img = segmentor
    out = run_tool('tools/analysis_tools/vis_subdivision.py', SEM_CFG,
                   seg_ckpt, seg_img, '--out-dir', tmp_path / 'steps')
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / 'steps' /
            (osp.splitext(osp.basename(seg_img))[0] + '_steps.png')).exists()
    # side by side: the same random model twice (the 4x conv baseline has
    # another architecture; the README's pictures use trained ones)
    img = _image(tmp_path, (96, 96, 3))
    out = run_tool('demo/image_demo.py', img, INST_CFG, det_ckpt, '--compare',
                   INST_CFG, det_ckpt, '--score-thr', '0', '--out-dir',
                   tmp_path / 'demo')
    assert out.returncode == 0, out.stderr[-3000:]
    both = cv2.imread(str(tmp_path / 'demo' / 'compare' / osp.basename(img)))
    assert both.shape[1] == 2 * 96 + 6
    missing = run_tool('demo/image_demo.py', img, INST_CFG,
                       tmp_path / 'nope.pth')
    assert missing.returncode != 0 and 'checkpoint not found' in \
        missing.stderr


def test_image_demo_goes_on_past_broken_images(detector, tmp_path):
    """A folder with a truncated PNG and a text file named .jpg: every
    readable image is drawn, the broken ones are named in a warning and in
    the summary, and the exit code is 1."""
    _, det_ckpt = detector
    folder = tmp_path / 'images'
    folder.mkdir()
    good = [_image(tmp_path, (96, 96, 3)), _image(tmp_path, (64, 80, 3))]
    for i, path in enumerate(good):
        os.replace(path, folder / f'ok_{i}.png')
    data = (folder / 'ok_0.png').read_bytes()
    (folder / 'broken.png').write_bytes(data[:len(data) // 3])
    (folder / 'notes.jpg').write_text('not an image')
    out = run_tool('demo/image_demo.py', folder, INST_CFG, det_ckpt,
                   '--score-thr', '0', '--out-dir', tmp_path / 'demo')
    assert out.returncode == 1, out.stderr[-3000:]
    assert 'Traceback' not in out.stderr
    warned = [
        line for line in out.stderr.splitlines() if 'WARNING skipping' in line
    ]
    assert len(warned) == 2 and 'broken.png' in warned[0] and \
        'notes.jpg' in warned[1]
    assert '2 image(s) could not be read' in out.stderr
    vis = tmp_path / 'demo' / osp.splitext(osp.basename(INST_CFG))[0] / 'vis'
    assert sorted(p.name for p in vis.iterdir()) == ['ok_0.png', 'ok_1.png']


def test_tools_on_a_semantic_checkpoint_without_dataset_meta(
        segmentor, tmp_path):
    """What converters wrote before they stored dataset_meta: export and
    the image demo take the classes from the config (mmseg's init_model
    crashes on such a cascade checkpoint)."""
    model, _, img = segmentor
    bare = str(tmp_path / 'bare.pth')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(converted_from='detectron2')), bare)
    out = run_tool('tools/deployment/pytorch2onnx.py', SEM_CFG, bare, img,
                   '--out', tmp_path / 'seg.onnx')
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'onnxruntime output matches PyTorch' in out.stdout
    out = run_tool('demo/image_demo.py', img, SEM_CFG, bare, '--out-dir',
                   tmp_path / 'demo')
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'no dataset_meta' in out.stderr
    vis = tmp_path / 'demo' / 'point-rend_fpn_r18-tiny_scenes-seg' / 'vis'
    assert len(list(vis.iterdir())) == 1
