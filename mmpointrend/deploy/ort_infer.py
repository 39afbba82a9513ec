"""Run an exported PointRend graph with onnxruntime: numpy, onnxruntime and
OpenCV (or Pillow) only - no torch, no mm* package, no mmpointrend. Copy this
one file next to the ``.onnx`` file::

    python ort_infer.py model.onnx image.jpg --out result.png [--json r.json]

(``--json``: boxes, scores, labels and, per instance, mmdet's results-json
entry with the mask as COCO RLE.)

What the graph leaves out, this file does, as the PyTorch model's test
pipeline does (settings read from the graph's metadata, written at export):

1. load the image BGR (``cv2.imread``) and resize it as the config's test
   ``Resize`` (mmcv's ``imrescale``: keep ratio, sizes rounded half up; cv2 or
   Pillow bilinear, as the config says);
2. run the graph;
3. instances: boxes back to the original pixels (divided by the resize
   factors), with ``drop_empty_boxes`` clipped and emptied ones dropped, and
   each ``S x S`` mask pasted into its box at the original size
   (:func:`paste_mask`, mmdet's ``_do_paste_mask``: bilinear,
   ``align_corners=False``, zero outside), thresholded at
   ``mask_thr_binary``; semantic: logits resized back to the original size
   (bilinear) and their argmax.
"""
import argparse
import json
import sys
from typing import Dict, Optional, Tuple

import numpy as np


def load_session(path: str):
    """An onnxruntime CPU session and the graph's metadata (a dict)."""
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    props = session.get_modelmeta().custom_metadata_map
    return session, {k: json.loads(v) for k, v in props.items()}


def resize(img: np.ndarray,
           spec: Optional[dict]) -> Tuple[np.ndarray, Tuple[float, float]]:
    """The config's test ``Resize``: ``(H, W, 3)`` uint8 -> resized image and
    its ``(w_scale, h_scale)``."""
    if not spec:
        return img, (1.0, 1.0)
    h, w = img.shape[:2]
    if spec['keep_ratio']:
        long_edge, short_edge = max(spec['scale']), min(spec['scale'])
        factor = min(long_edge / max(h, w), short_edge / min(h, w))
        size = (int(w * float(factor) + 0.5), int(h * float(factor) + 0.5))
    else:
        size = tuple(int(s) for s in spec['scale'])
    if spec.get('interpolation', 'bilinear') != 'bilinear':
        raise ValueError('only bilinear test resizing is implemented here')
    if spec.get('backend', 'cv2') == 'pillow':
        from PIL import Image
        out = np.array(Image.fromarray(img).resize(size, Image.BILINEAR))
    else:
        import cv2
        out = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    return out, (out.shape[1] / w, out.shape[0] / h)


def _bilinear_zero_pad(mask: np.ndarray, gx: np.ndarray,
                       gy: np.ndarray) -> np.ndarray:
    """``grid_sample(mask, align_corners=False, padding 'zeros')`` of one
    ``(S, S)`` map at grid coordinates ``gx (w,)``, ``gy (h,)`` in [-1, 1]."""
    size_y, size_x = mask.shape
    ix = ((gx + np.float32(1)) * np.float32(size_x) - 1) / np.float32(2)
    iy = ((gy + np.float32(1)) * np.float32(size_y) - 1) / np.float32(2)
    x0, y0 = np.floor(ix), np.floor(iy)
    fx, fy = ix - x0, iy - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    out = np.zeros((len(iy), len(ix)), np.float32)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        ys = y0 + dy
        vy = (ys >= 0) & (ys < size_y)
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xs = x0 + dx
            vx = (xs >= 0) & (xs < size_x)
            vals = mask[np.clip(ys, 0, size_y - 1)[:, None],
                        np.clip(xs, 0, size_x - 1)[None, :]]
            out += vals * (wy * vy)[:, None].astype(np.float32) * \
                (wx * vx)[None, :].astype(np.float32)
    return out


def paste_mask(prob: np.ndarray, box: np.ndarray, img_h: int, img_w: int,
               threshold: float) -> np.ndarray:
    """One ``(S, S)`` probability map into an ``(img_h, img_w)`` bool mask:
    sampled at the centres of the pixels around ``box`` (x1, y1, x2, y2 in
    the output's pixels), as mmdet's ``_do_paste_mask``."""
    out = np.zeros((img_h, img_w), bool)
    x0, y0, x1, y1 = (np.float32(v) for v in box)
    if not (x1 > x0 and y1 > y0 and x1 > 0 and y1 > 0 and x0 < img_w
            and y0 < img_h and np.isfinite(box).all()):
        return out
    xa, ya = max(int(np.floor(x0)) - 1, 0), max(int(np.floor(y0)) - 1, 0)
    xb = min(int(np.ceil(x1)) + 1, img_w)
    yb = min(int(np.ceil(y1)) + 1, img_h)
    px = np.arange(xa, xb, dtype=np.float32) + np.float32(0.5)
    py = np.arange(ya, yb, dtype=np.float32) + np.float32(0.5)
    gx = (px - x0) / (x1 - x0) * np.float32(2) - np.float32(1)
    gy = (py - y0) / (y1 - y0) * np.float32(2) - np.float32(1)
    out[ya:yb, xa:xb] = _bilinear_zero_pad(prob.astype(np.float32), gx,
                                           gy) >= threshold
    return out


def postprocess_instances(outputs, scale: Tuple[float, float], ori_hw,
                          meta: dict) -> Dict[str, np.ndarray]:
    """Graph outputs (resized-image pixels) -> boxes, scores, labels and
    ``(n, H, W)`` bool masks at the original size ``ori_hw``."""
    boxes, scores, labels, probs = outputs
    img_h, img_w = ori_hw
    boxes = boxes / np.array([scale[0], scale[1], scale[0], scale[1]],
                             np.float32)
    if meta.get('drop_empty_boxes'):
        boxes = np.stack([
            boxes[:, 0].clip(0, img_w), boxes[:, 1].clip(0, img_h),
            boxes[:, 2].clip(0, img_w), boxes[:, 3].clip(0, img_h)
        ], 1) if len(boxes) else boxes
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, scores, labels, probs = (boxes[keep], scores[keep],
                                        labels[keep], probs[keep])
    thr = meta.get('mask_thr_binary', 0.5)
    masks = np.zeros((len(boxes), img_h, img_w), bool)
    for i in range(len(boxes)):
        masks[i] = paste_mask(probs[i], boxes[i], img_h, img_w, thr)
    return dict(boxes=boxes, scores=scores, labels=labels, masks=masks)


def predict(session, meta: dict, img: np.ndarray) -> Dict[str, np.ndarray]:
    """A BGR ``(H, W, 3)`` uint8 image -> instances (``boxes``, ``scores``,
    ``labels``, ``masks``) or semantic ``labels (H, W)`` and ``logits``."""
    resized, scale = resize(img, meta.get('resize'))
    inp = np.ascontiguousarray(
        resized.transpose(2, 0, 1)[None].astype(np.float32))
    name = session.get_inputs()[0].name
    outputs = session.run(None, {name: inp})
    if meta.get('task') == 'semantic':
        logits = outputs[0][0]
        if logits.shape[1:] != img.shape[:2]:
            import cv2
            logits = np.stack([
                cv2.resize(
                    c, (img.shape[1], img.shape[0]),
                    interpolation=cv2.INTER_LINEAR) for c in logits
            ])
        return dict(labels=logits.argmax(0), logits=logits)
    return postprocess_instances(outputs, scale, img.shape[:2], meta)


def mask_to_rle(mask: np.ndarray) -> dict:
    """An ``(H, W)`` bool mask as COCO's compressed RLE, ``{'size': [H, W],
    'counts': str}``, byte for byte what ``pycocotools.mask.encode`` gives
    (mmdet writes it in its results json): run lengths in column-major
    order starting with a run of zeros, each stored as the difference to the
    run two before (from the third on) in 5-bit groups offset by 48."""
    flat = np.asfortranarray(mask).reshape(-1, order='F').astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs  # counts start with the zeros
    chars = []
    for i, run in enumerate(runs):
        x = run - runs[i - 2] if i > 2 else run
        more = True
        while more:
            c = x & 0x1f
            x >>= 5  # arithmetic shift, as C's on a signed long
            more = x != -1 if c & 0x10 else x != 0
            chars.append(chr((c | 0x20 if more else c) + 48))
    return dict(
        size=[int(mask.shape[0]), int(mask.shape[1])], counts=''.join(chars))


def instances_json(result: dict, classes) -> dict:
    """Boxes, scores, labels, mask areas and the instances as in mmdet's
    results json (``bbox`` as ``[x, y, w, h]``, ``score``, ``category_id``
    = the label, as the graph knows no dataset ids, ``category_name``,
    ``segmentation`` = :func:`mask_to_rle`)."""
    instances = []
    for box, score, label, mask in zip(result['boxes'], result['scores'],
                                       result['labels'], result['masks']):
        x0, y0, x1, y1 = (float(v) for v in box)
        instances.append(
            dict(
                bbox=[
                    round(x0, 2),
                    round(y0, 2),
                    round(x1 - x0, 2),
                    round(y1 - y0, 2)
                ],
                score=round(float(score), 4),
                category_id=int(label),
                category_name=classes[label]
                if label < len(classes) else str(label),
                segmentation=mask_to_rle(mask)))
    return dict(
        boxes=result['boxes'].round(2).tolist(),
        scores=result['scores'].round(4).tolist(),
        labels=result['labels'].tolist(),
        mask_areas=result['masks'].sum((1, 2)).tolist(),
        instances=instances)


def draw(img: np.ndarray, result: dict, classes) -> np.ndarray:
    """Masks blended in, boxes and class names drawn (instances) or the
    label map coloured (semantic)."""
    import cv2
    rng = np.random.default_rng(0)
    out = img.copy()
    if 'masks' not in result:
        colours = rng.integers(0, 255, (int(result['labels'].max()) + 1, 3))
        return (0.5 * out + 0.5 * colours[result['labels']]).astype(np.uint8)
    for box, label, score, mask in zip(result['boxes'], result['labels'],
                                       result['scores'], result['masks']):
        colour = rng.integers(0, 255, 3)
        out[mask] = (0.5 * out[mask] + 0.5 * colour).astype(np.uint8)
        x0, y0, x1, y1 = (int(v) for v in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour.tolist(), 2)
        name = classes[label] if label < len(classes) else str(label)
        cv2.putText(out, f'{name} {score:.2f}', (x0, max(y0 - 3, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour.tolist(), 1)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('model', help='.onnx file exported by mmpointrend')
    parser.add_argument('image')
    parser.add_argument('--out', help='picture of the result')
    parser.add_argument(
        '--json',
        help='boxes / scores / labels, and the instances with their masks '
        'as COCO RLE (mmdet\'s results json), as json')
    parser.add_argument('--score-thr', type=float, default=0.0)
    args = parser.parse_args(argv)
    import cv2
    img = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if img is None:
        print(f'ort_infer: cannot read {args.image}', file=sys.stderr)
        return 1
    session, meta = load_session(args.model)
    result = predict(session, meta, img)
    if 'masks' in result:
        keep = result['scores'] >= args.score_thr
        result = {k: v[keep] for k, v in result.items()}
        summary = instances_json(result, meta.get('classes', []))
        print(f'{len(result["boxes"])} instances')
    else:
        summary = dict(
            label_counts=np.bincount(result['labels'].ravel()).tolist())
        print(f'labels: {summary["label_counts"]}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summary, f)
    if args.out:
        cv2.imwrite(args.out, draw(img, result, meta.get('classes', [])))
    return 0


if __name__ == '__main__':
    sys.exit(main())
