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
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn


class _Normalise(nn.Module):
    """The data preprocessor's channel swap and mean / std, in the graph."""

    def __init__(self, data_preprocessor):
        super().__init__()
        self.register_buffer(
            'mean',
            data_preprocessor.mean.detach().clone().reshape(1, -1, 1, 1))
        self.register_buffer(
            'std',
            data_preprocessor.std.detach().clone().reshape(1, -1, 1, 1))
        # mmengine's ImgDataPreprocessor (mmdet) and mmseg's
        # SegDataPreProcessor name the flag differently
        self.swap = bool(
            getattr(data_preprocessor, '_channel_conversion', False)
            or getattr(data_preprocessor, 'channel_conversion', False))

    def forward(self, img: Tensor) -> Tensor:
        if self.swap:
            img = img[:, [2, 1, 0]]
        return (img - self.mean) / self.std


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
        self.normalise = _Normalise(detector.data_preprocessor)
        roi_head = detector.roi_head
        if not hasattr(roi_head, 'refine_masks'):
            raise TypeError(f'{type(roi_head).__name__} is not a PointRend '
                            'RoI head (PointRendInstanceRoIHead)')
        cfg = roi_head.test_cfg
        if cfg.get('adaptive_resolution'):
            raise ValueError('adaptive_resolution gives each box its own '
                             'number of steps; export with it off')

    def forward(self, img: Tensor, boxes: Tensor, labels: Tensor) -> Tensor:
        roi_head = self.detector.roi_head
        feats = self.detector.extract_feat(self.normalise(img))
        rois = torch.cat([boxes.new_zeros((boxes.shape[0], 1)), boxes], 1)
        return roi_head.refine_masks(feats, rois, labels)[:, 0].sigmoid()


class SemanticGraph(nn.Module):
    """The whole semantic PointRend segmentor for one input size.

    Args:
        segmentor: an mmseg ``CascadeEncoderDecoder`` whose last head is
            :class:`PointRendSemanticHead`.
        input_size (tuple[int, int]): ``(H, W)`` of the exported input.
    """

    def __init__(self, segmentor, input_size: Tuple[int, int]):
        super().__init__()
        self.segmentor = segmentor
        self.normalise = _Normalise(segmentor.data_preprocessor)
        self.input_size = tuple(int(s) for s in input_size)

    def forward(self, img: Tensor) -> Tensor:
        seg = self.segmentor
        x = seg.extract_feat(self.normalise(img))
        out = seg.decode_head[0].forward(x)
        for head in seg.decode_head[1:]:
            # the input size is a constant of the exported graph
            meta = dict(img_shape=self.input_size, pad_shape=self.input_size)
            out = head.predict(x, out, [meta], seg.test_cfg)
        return out


def export(module: nn.Module,
           args: Tuple[Tensor, ...],
           path: str,
           input_names: Sequence[str],
           output_names: Sequence[str],
           opset: int = 17) -> None:
    """``torch.onnx.export`` (TorchScript exporter) with fixed shapes."""
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
            dynamo=False)


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


def _pipeline_input(cfg, img_path: str, scope: str):
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
    """Export :class:`InstanceMaskGraph` for one image size and check it
    with onnxruntime against PyTorch on that image.

    Returns:
        dict: ``max_abs_diff`` of the mask probabilities, ``mask_mismatch``
        (fraction of pasted mask pixels that differ), ``num_boxes``,
        ``input_size``.
    """
    from mmpointrend.apis import init_model
    from mmpointrend.models.roi_heads.point_rend_instance_head import \
        paste_masks
    if model is None:
        model = init_model(config, checkpoint)
    model.eval()
    inputs, sample = _pipeline_input(model.cfg, img_path, 'mmdet')
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
    with torch.no_grad():
        ref = graph(img, boxes, labels)
    export(graph, (img, boxes, labels), out, ['image', 'boxes', 'labels'],
           ['mask_probs'])
    got = run_onnx(
        out,
        dict(image=img.numpy(), boxes=boxes.numpy(), labels=labels.numpy()))[0]
    h, w = sample.img_shape
    thr = model.roi_head.test_cfg.mask_thr_binary
    pasted = [
        paste_masks(torch.from_numpy(p), boxes, h, w, thr).numpy()
        for p in (got, ref.numpy())
    ]
    return dict(
        max_abs_diff=float(np.abs(got - ref.numpy()).max()),
        mask_mismatch=mask_agreement(*pasted, thr=None),
        num_boxes=len(boxes),
        input_size=tuple(img.shape[-2:]))


def export_semantic(config: str,
                    checkpoint: Optional[str],
                    img_path: str,
                    out: str,
                    model=None) -> dict:
    """Export :class:`SemanticGraph` for one image size and check it with
    onnxruntime against PyTorch (and the model's own inference).

    Returns:
        dict: ``max_abs_diff`` of the logits, ``label_mismatch`` (fraction of
        pixels whose class differs from PyTorch's graph),
        ``inference_mismatch`` (from ``mmseg.apis.inference_model``),
        ``input_size``.
    """
    from mmseg.apis import inference_model

    from mmpointrend.apis import init_model
    if model is None:
        model = init_model(config, checkpoint)
    model.eval()
    inputs, sample = _pipeline_input(model.cfg, img_path, 'mmseg')
    graph = SemanticGraph(model, inputs.shape[-2:]).eval()
    img = inputs[None].float()
    _check_size(img)
    with torch.no_grad():
        ref = graph(img)
    export(graph, (img, ), out, ['image'], ['logits'])
    got = run_onnx(out, dict(image=img.numpy()))[0]
    result = dict(
        max_abs_diff=float(np.abs(got - ref.numpy()).max()),
        label_mismatch=float(np.mean(got.argmax(1) != ref.numpy().argmax(1))),
        input_size=tuple(img.shape[-2:]))
    if tuple(sample.ori_shape) == tuple(img.shape[-2:]):
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmseg'):
            pred = inference_model(model,
                                   img_path).pred_sem_seg.data[0].numpy()
        result['inference_mismatch'] = float(np.mean(got.argmax(1)[0] != pred))
    return result
