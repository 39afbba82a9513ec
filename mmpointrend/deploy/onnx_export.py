"""ONNX export of PointRend's inference (subdivision included).

Two graphs, both with a fixed input size, a fixed number of points per
subdivision step and no image metadata (everything the model would read from
``img_metas`` is a constant of the exported shape):

* :class:`InstanceMaskGraph` - ``image (1, 3, H, W), boxes (K, 4), labels
  (K,) -> mask probabilities (K, S, S)``: normalisation, backbone, neck, the
  coarse head on each box and the adaptive subdivision (5 steps of 28x28
  points to 224x224 with the paper's settings). The boxes and labels are the
  detector's (RPN + box head + NMS, which MMDeploy already exports for Mask
  R-CNN); what PointRend adds - point sampling, uncertainty top-k, scatter
  into the upsampled grid - is all in the graph. Paste the masks into the
  image with :func:`mmpointrend.models.roi_heads.paste_masks`.
* :class:`SemanticGraph` - ``image (1, 3, H, W) -> logits (1, C, H, W)``:
  the whole segmentor, subdivision up to the input resolution.

The point features are read by ``embedding_bag`` in PyTorch; while exporting
(``torch.onnx.is_in_onnx_export()``) :func:`bilinear_gather` uses gathers,
which ONNX has.
"""
import contextlib
import json
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.structures.bbox import bbox2roi
from torch import Tensor, nn

from .graph_parts import Normalise, pointrend_roi_head


def _check_size(img: Tensor, divisor: int = 32) -> None:
    h, w = img.shape[-2:]
    if h % divisor or w % divisor:
        raise ValueError(
            f'export size {h}x{w}: pad the image to a multiple of {divisor} '
            '(the FPN needs it; the data preprocessor pads the same way)')


class InstanceMaskGraph(nn.Module):
    """PointRend instance masks for given boxes: what the ONNX graph runs.

    Args:
        detector: an mmdet two-stage detector whose ``roi_head`` is
            :class:`PointRendInstanceRoIHead`.
    """

    def __init__(self, detector):
        super().__init__()
        self.detector = detector
        self.normalise = Normalise(detector.data_preprocessor)
        pointrend_roi_head(detector)

    def forward(self, img: Tensor, boxes: Tensor, labels: Tensor) -> Tensor:
        roi_head = self.detector.roi_head
        feats = self.detector.extract_feat(self.normalise(img))
        return roi_head.refine_masks(feats, bbox2roi([boxes]),
                                     labels)[:, 0].sigmoid()


class SemanticGraph(nn.Module):
    """The whole semantic PointRend segmentor, ``image (1, 3, H, W) ->
    logits (1, K, H, W)`` at any input size (no padding, as mmseg's whole
    inference).

    Args:
        segmentor: an mmseg ``CascadeEncoderDecoder`` whose last head is
            :class:`PointRendSemanticHead`.
    """

    def __init__(self, segmentor):
        super().__init__()
        self.segmentor = segmentor
        self.normalise = Normalise(segmentor.data_preprocessor)
        mode = segmentor.test_cfg.get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(f"test_cfg.mode='{mode}': the graph runs whole "
                             "inference; export with mode='whole'")

    def forward(self, img: Tensor) -> Tensor:
        seg = self.segmentor
        x = seg.extract_feat(self.normalise(img))
        out = seg.decode_head[0].forward(x)
        size = img.shape[-2:]  # traced: the graph's input size
        for head in seg.decode_head[1:]:
            meta = dict(img_shape=size, pad_shape=size)
            out = head.predict(x, out, [meta], seg.test_cfg)
        return out


def export(module: nn.Module,
           args: Tuple[Tensor, ...],
           path: str,
           input_names: Sequence[str],
           output_names: Sequence[str],
           opset: int = 17,
           dynamic_axes: Optional[Dict[str, Dict[int, str]]] = None) -> None:
    """``torch.onnx.export`` (TorchScript exporter) without gradients; with
    fixed shapes (the input a multiple of 32) unless ``dynamic_axes``."""
    if dynamic_axes is None:
        _check_size(args[0])
    module.eval()
    with torch.no_grad():
        torch.onnx.export(
            module,
            args,
            path,
            input_names=list(input_names),
            output_names=list(output_names),
            opset_version=opset,
            dynamic_axes=dynamic_axes,
            dynamo=False)


def pipeline_input(cfg, img_path: str, scope: str):
    """The test pipeline's image (uint8 CHW, as loaded) and its sample."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    pipeline = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] != 'LoadAnnotations'
    ]
    with DefaultScope.overwrite_default_scope(scope):
        data = Compose(pipeline)(dict(img_path=img_path, img_id=0))
    return data['inputs'], data['data_samples']


def _pad_with_mean(img: Tensor, mean: Tensor, divisor: int = 32) -> Tensor:
    """Pad bottom / right to a multiple of ``divisor`` with the mean colour
    (zero after normalisation, as the data preprocessors pad)."""
    h, w = img.shape[-2:]
    ph, pw = (-h) % divisor, (-w) % divisor
    if not ph and not pw:
        return img
    out = mean.reshape(1, -1, 1, 1).expand(1, img.shape[1], h + ph,
                                           w + pw).clone()
    out[..., :h, :w] = img
    return out


def export_instance(config: str,
                    checkpoint: Optional[str],
                    img_path: str,
                    out: str,
                    num_boxes: int = 10,
                    score_thr: float = 0.3,
                    model=None) -> dict:
    """Export :class:`InstanceMaskGraph` for one image size, with the
    detector's boxes on ``img_path`` as the example input (check the file
    with :func:`check_instance`).

    Returns:
        dict: ``inputs`` (the graph's example inputs, numpy, by name),
        ``num_boxes``, ``input_size``, ``img_shape`` (the test image's,
        before padding).
    """
    from mmpointrend.apis import init_model
    if model is None:
        model = init_model(config, checkpoint)
    model.eval()
    inputs, sample = pipeline_input(model.cfg, img_path, 'mmdet')
    graph = InstanceMaskGraph(model).eval()
    img = _pad_with_mean(inputs[None].float(), graph.normalise.mean[0, :, 0,
                                                                    0])
    with torch.no_grad():
        det = model.test_step(dict(inputs=[inputs], data_samples=[sample]))[0]
    inst = det.pred_instances
    inst = inst[inst.scores >= score_thr][:num_boxes]
    if len(inst) == 0:
        raise ValueError(f'no detection scores >= {score_thr} on {img_path}: '
                         'nothing to give the exported mask graph')
    scale = inst.bboxes.new_tensor(sample.scale_factor).repeat(2)
    boxes = (inst.bboxes * scale).float()  # back to test-image pixels
    labels = inst.labels.long()
    export(graph, (img, boxes, labels), out, ['image', 'boxes', 'labels'],
           ['mask_probs'])
    return dict(
        inputs=dict(
            image=img.numpy(), boxes=boxes.numpy(), labels=labels.numpy()),
        num_boxes=len(boxes),
        input_size=tuple(img.shape[-2:]),
        img_shape=tuple(sample.img_shape))


def _finish(path: str, initializers: Dict[str, float],
            metadata: Dict[str, str]) -> List[str]:
    """Set initializers by name, store metadata, check that every node is a
    standard ONNX operator. Returns the graph's operator types."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    found = set()
    for init in model.graph.initializer:
        if init.name in initializers:
            value = np.asarray(
                initializers[init.name],
                dtype=numpy_helper.to_array(init).dtype)
            init.CopyFrom(numpy_helper.from_array(value, init.name))
            found.add(init.name)
    missing = set(initializers) - found
    if missing:
        raise RuntimeError(f'initializers {sorted(missing)} not found in '
                           f'{path}: cannot set them after tracing')
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    custom = {
        n.op_type
        for n in model.graph.node if n.domain not in ('', 'ai.onnx')
    }
    if custom:
        raise RuntimeError(f'non-standard operators in the graph: {custom}')
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return sorted({n.op_type for n in model.graph.node})


def _file_metadata(model, **fields) -> Dict[str, str]:
    """``metadata_props`` of an exported file (JSON strings): ``fields`` plus
    the config's test resize and the classes, for ``ort_infer``."""
    resize = None
    for t in model.cfg.test_dataloader.dataset.pipeline:
        if t['type'] in ('Resize', 'RandomResize'):
            resize = dict(
                scale=list(t.get('scale', ())),
                keep_ratio=bool(t.get('keep_ratio', False)),
                backend=t.get('backend', 'cv2'),
                interpolation=t.get('interpolation', 'bilinear'))
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes', [])
    fields.update(resize=resize, classes=list(classes))
    return {k: json.dumps(v) for k, v in fields.items()}


def export_detector(model, img_path: str, out: str, opset: int = 17) -> dict:
    """Export the whole detector (:class:`DetectorGraph`) with dynamic input
    size and number of detections, traced on ``img_path``.

    The trace keeps every candidate (score threshold -1), so that the mask
    branch is recorded whatever the image; the config's ``score_thr`` is
    then written into the graph.

    Returns:
        dict: ``ops`` (operator types), ``export_size``.
    """
    from .detector_graph import OUTPUT_NAMES, DetectorGraph
    graph = DetectorGraph(model)
    inputs, _ = pipeline_input(model.cfg, img_path, 'mmdet')
    img = inputs[None].float()
    score_thr = float(graph.score_thr)
    dynamic = {name: {0: 'num_detections'} for name in OUTPUT_NAMES}
    dynamic['image'] = {2: 'height', 3: 'width'}
    graph.score_thr.fill_(-1.0)
    try:
        export(
            graph,
            (img, ),
            out,
            ['image'],
            OUTPUT_NAMES,
            opset=max(opset, 16),  # RoiAlign half_pixel
            dynamic_axes=dynamic)
    finally:
        graph.score_thr.fill_(score_thr)
    cfg = model.roi_head.test_cfg
    meta = _file_metadata(
        model,
        task='instance',
        input='float32 (1, 3, H, W): the image as cv2.imread loads it '
        '(BGR, 0-255), resized as "resize" says; not padded',
        outputs='boxes (n, 4) x1 y1 x2 y2 and masks (n, S, S) '
        'probabilities of the predicted class inside each box, in the '
        "input's pixels; scores (n,); labels (n,) int64",
        mask_thr_binary=float(cfg.mask_thr_binary),
        drop_empty_boxes=bool(cfg.get('drop_empty_boxes', False)))
    ops = _finish(out, {'score_thr': score_thr}, meta)
    return dict(ops=ops, export_size=tuple(img.shape[-2:]))


@contextlib.contextmanager
def _traceable_upsampling(model):
    """mmseg's ``Upsample`` (e.g. SemanticFPN's scale heads) turns the input
    size into Python ints, which a trace records as constants; while
    exporting, those modules compute the size from the traced shape."""
    from mmseg.models.utils import Upsample, resize
    patched = []
    for module in model.modules():
        if isinstance(module, Upsample) and not module.size:

            def forward(x, m=module):
                factor = m.scale_factor
                if float(factor).is_integer():
                    size = [t * int(factor) for t in x.shape[-2:]]
                else:
                    size = [(t * factor).floor().long() for t in x.shape[-2:]]
                return resize(x, size, None, m.mode, m.align_corners)

            module.forward = forward
            patched.append(module)
    try:
        yield
    finally:
        for module in patched:
            del module.forward


def export_semantic(model, img_path: str, out: str, opset: int = 17) -> dict:
    """Export :class:`SemanticGraph` with a dynamic input size, traced on
    ``img_path`` after the test pipeline.

    Returns:
        dict: ``ops``, ``export_size``.
    """
    inputs, _ = pipeline_input(model.cfg, img_path, 'mmseg')
    img = inputs[None].float()
    with _traceable_upsampling(model):
        export(
            SemanticGraph(model), (img, ),
            out, ['image'], ['logits'],
            opset=opset,
            dynamic_axes=dict(
                image={
                    2: 'height',
                    3: 'width'
                },
                logits={
                    2: 'height',
                    3: 'width'
                }))
    meta = _file_metadata(
        model,
        task='semantic',
        input='float32 (1, 3, H, W): the image as cv2.imread loads it '
        '(BGR, 0-255), resized as "resize" says',
        outputs='logits (1, K, H, W) at the input size')
    ops = _finish(out, {}, meta)
    return dict(ops=ops, export_size=tuple(img.shape[-2:]))
