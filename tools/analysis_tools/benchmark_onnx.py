"""onnxruntime vs PyTorch latency of the whole exported PointRend model,
measured side by side in one run (same weights, same image, same CPU).

    python tools/analysis_tools/benchmark_onnx.py [--repeat 3] [--out t.md]

Two models: the demo detector (``configs/demo/point-rend_r18-tiny_fpn_
shapes.py``, random weights, score threshold 0) on a generated 96x96 shapes
image, and the R50-FPN COCO PointRend (``benchmark_pointrend.py``'s
realistic random weights, score threshold 0 and 100 detections per image) on
an 800x1216 image. For each: PyTorch ``test_step`` (preprocessing, model,
pasting at the image size) against the exported file run as a user runs it
(``ort_infer.predict``: resize, graph, numpy paste) and the graph alone;
both outputs are compared (detections matched, mask IoU) so that the times
are for the same work.
"""
import argparse
import os.path as osp
import platform
import sys
import tempfile
import time

import cv2
import numpy as np
import torch
from mmengine.config import Config

import mmpointrend  # noqa: F401
from mmpointrend.deploy import check_detector, export_detector, ort_infer

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


def _median_time(fn, repeat):
    """benchmark_pointrend's timer, after one warm-up call."""
    from benchmark_pointrend import run
    fn()
    return run(fn, repeat, 'cpu')[0]


def demo_model():
    from mmpointrend.apis import init_model
    from mmpointrend.datasets import generate_coco_shapes
    torch.manual_seed(0)
    model = init_model(
        osp.join(REPO, 'configs/demo/point-rend_r18-tiny_fpn_shapes.py'),
        cfg_options={'model.test_cfg.rcnn.score_thr': 0.0})
    root = tempfile.mkdtemp()
    generate_coco_shapes(root, num_train=1, num_val=1, img_size=96, seed=0)
    return model, osp.join(root, 'val', '00000.png')


def r50_model(img_hw):
    from benchmark_pointrend import OURS_CFG, build_detectors
    model = build_detectors('cpu')['ours']
    cfg = Config.fromfile(OURS_CFG)
    cfg.model.test_cfg.rcnn.update(score_thr=0.0, max_per_img=100)
    model.cfg = cfg
    g = np.random.default_rng(0)
    path = osp.join(tempfile.mkdtemp(), 'noise.png')
    cv2.imwrite(path, g.integers(0, 255, (*img_hw, 3), dtype=np.uint8))
    return model, path


def measure(name, model, img_path, repeat):
    from mmpointrend.deploy.onnx_export import pipeline_input
    onnx_path = osp.join(tempfile.mkdtemp(), 'model.onnx')
    start = time.perf_counter()
    export_detector(model, img_path, onnx_path)
    t_export = time.perf_counter() - start
    report = check_detector(model, onnx_path, img_path)
    inputs, sample = pipeline_input(model.cfg, img_path, 'mmdet')
    data = dict(inputs=[inputs], data_samples=[sample])
    img = cv2.imread(img_path)
    session, meta = ort_infer.load_session(onnx_path)
    feed = {'image': inputs[None].float().numpy()}
    with torch.no_grad():
        t_torch = _median_time(lambda: model.test_step(data), repeat)
    t_ort = _median_time(lambda: ort_infer.predict(session, meta, img), repeat)
    t_graph = _median_time(lambda: session.run(None, feed), repeat)
    row = dict(
        name=name,
        size='x'.join(map(str, report['input_size'])),
        detections=report['num_onnx'],
        torch=t_torch,
        ort=t_ort,
        graph=t_graph,
        export=t_export,
        match=report['match_fraction'],
        iou=report['min_mask_iou'])
    print(row, flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--img', default='800x1216', help='R50 HxW')
    parser.add_argument('--skip-r50', action='store_true')
    parser.add_argument('--out', help='write the table (markdown) here')
    args = parser.parse_args()
    from mmdet.utils import register_all_modules
    register_all_modules()
    import onnxruntime
    rows = [measure('demo (r18-tiny)', *demo_model(), args.repeat)]
    if not args.skip_r50:
        img_hw = tuple(int(s) for s in args.img.split('x'))
        rows.append(measure('R50-FPN COCO', *r50_model(img_hw), args.repeat))
    lines = [
        f'CPU: {platform.processor() or platform.machine()}, '
        f'{torch.get_num_threads()} torch threads, torch {torch.__version__},'
        f' onnxruntime {onnxruntime.__version__}; median of {args.repeat}.',
        '', '| model | input | detections | PyTorch test_step (s) | '
        'onnxruntime + resize + paste (s) | graph alone (s) | '
        'PyTorch / onnxruntime | export (s) | matched | min mask IoU |',
        '|' + '---|' * 10
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['size']} | {r['detections']} | "
                     f"{r['torch']:.3f} | {r['ort']:.3f} | {r['graph']:.3f} | "
                     f"{r['torch'] / r['ort']:.2f}x | {r['export']:.1f} | "
                     f"{100 * r['match']:.0f}% | {r['iou']:.4f} |")
    table = '\n'.join(lines)
    print('\n' + table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')


if __name__ == '__main__':
    main()
