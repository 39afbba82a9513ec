"""Checking exported graphs: onnxruntime against PyTorch, the way a user
runs the files (:mod:`.ort_infer`)."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from mmpointrend.models.utils import paste_masks
from .onnx_export import InstanceMaskGraph, pipeline_input


def run_onnx(path: str, inputs: Dict[str, np.ndarray]) -> Sequence[np.ndarray]:
    """Run an exported graph with onnxruntime on the CPU."""
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return session.run(None, inputs)


def mask_agreement(a: np.ndarray,
                   b: np.ndarray,
                   thr: Optional[float] = 0.5) -> float:
    """Fraction of pixels whose thresholded values differ."""
    if thr is not None:
        a, b = a >= thr, b >= thr
    return float(np.mean(a != b)) if a.size else 0.0


def check_instance(model, onnx_path: str, exported: dict) -> dict:
    """An exported :class:`InstanceMaskGraph` in onnxruntime against the
    graph in PyTorch on the example of :func:`export_instance`
    (``exported``, its return value).

    Returns:
        dict: ``max_abs_diff`` of the mask probabilities, ``mask_mismatch``
        (fraction of pasted mask pixels that differ), ``num_boxes``,
        ``input_size``.
    """
    inputs = exported['inputs']
    graph = InstanceMaskGraph(model).eval()
    with torch.no_grad():
        ref = graph(*(torch.from_numpy(inputs[k])
                      for k in ('image', 'boxes', 'labels'))).numpy()
    got = run_onnx(onnx_path, inputs)[0]
    h, w = exported['img_shape']
    thr = model.roi_head.test_cfg.mask_thr_binary
    boxes = torch.from_numpy(inputs['boxes'])
    pasted = [
        paste_masks(torch.from_numpy(p), boxes, h, w, thr).numpy()
        for p in (got, ref)
    ]
    return dict(
        max_abs_diff=float(np.abs(got - ref).max()),
        mask_mismatch=mask_agreement(*pasted, thr=None),
        num_boxes=exported['num_boxes'],
        input_size=exported['input_size'])


def check_detector(model, onnx_path: str, img_path: str) -> dict:
    """The exported file on ``img_path`` the way a user runs it
    (:mod:`ort_infer`: cv2 load, the config's resize, graph, paste at the
    original size) against the PyTorch model's ``test_step``.

    Returns:
        dict: ``num_pytorch``, ``num_onnx``, ``matched`` (same class, box IoU
        > 0.9, greedy), ``match_fraction`` (of the larger count; 1 when both
        are 0), ``min_mask_iou`` / ``mean_mask_iou`` over the matches,
        ``max_score_diff``, ``max_box_diff`` (original pixels),
        ``input_size``.
    """
    import cv2

    from . import ort_infer
    from .compare import mask_iou, match_detections
    inputs, sample = pipeline_input(model.cfg, img_path, 'mmdet')
    with torch.no_grad():
        ref = model.test_step(dict(inputs=[inputs],
                                   data_samples=[sample]))[0].pred_instances
    session, meta = ort_infer.load_session(onnx_path)
    got = ort_infer.predict(session, meta,
                            cv2.imread(img_path, cv2.IMREAD_COLOR))
    ref_boxes, ref_scores = ref.bboxes.numpy(), ref.scores.numpy()
    ref_labels, ref_masks = ref.labels.numpy(), ref.masks.numpy()
    pairs = match_detections(ref_boxes, ref_scores, ref_labels, got['boxes'],
                             got['scores'], got['labels'])
    ious = [mask_iou(ref_masks[i], got['masks'][j]) for i, j in pairs]
    most = max(len(ref_boxes), len(got['boxes']))
    return dict(
        image=img_path,
        input_size=tuple(inputs.shape[-2:]),
        num_pytorch=len(ref_boxes),
        num_onnx=len(got['boxes']),
        matched=len(pairs),
        match_fraction=len(pairs) / most if most else 1.0,
        min_mask_iou=min(ious) if ious else 1.0,
        mean_mask_iou=float(np.mean(ious)) if ious else 1.0,
        max_score_diff=max(
            (abs(float(ref_scores[i] - got['scores'][j])) for i, j in pairs),
            default=0.0),
        max_box_diff=max((float(np.abs(ref_boxes[i] - got['boxes'][j]).max())
                          for i, j in pairs),
                         default=0.0))


def check_semantic(model, onnx_path: str, img_path: str) -> dict:
    """The exported file run as a user runs it (:mod:`ort_infer`) against
    mmseg's ``inference_model`` on ``img_path``.

    Returns:
        dict: ``label_mismatch`` (fraction of pixels of the original image
        whose class differs), ``input_size``.
    """
    import cv2
    from mmengine.registry import DefaultScope
    from mmseg.apis import inference_model

    from . import ort_infer
    inputs, _ = pipeline_input(model.cfg, img_path, 'mmseg')
    with DefaultScope.overwrite_default_scope('mmseg'):
        ref = inference_model(model, img_path).pred_sem_seg.data[0].numpy()
    session, meta = ort_infer.load_session(onnx_path)
    got = ort_infer.predict(session, meta,
                            cv2.imread(img_path, cv2.IMREAD_COLOR))['labels']
    return dict(
        image=img_path,
        input_size=tuple(inputs.shape[-2:]),
        label_mismatch=float(np.mean(got != ref)))
