"""Detectron2 PointRend checkpoints (model-zoo ``.pkl`` files) to ours.

Detectron2's zoo files are pickles of ``{'model': {name: numpy array},
'__author__': ...}``. Names follow detectron2's modules (read from its
``detectron2/modeling`` and ``projects/PointRend/point_rend`` sources):

=====================================================  ==========================================
detectron2                                             mmpointrend (mmdet / mmseg modules)
=====================================================  ==========================================
``backbone.bottom_up.stem.conv1.weight``               ``backbone.conv1.weight``
``backbone.bottom_up.stem.conv1.norm.*``               ``backbone.bn1.*``
``backbone.bottom_up.res{n}.{b}.conv{i}.weight``       ``backbone.layer{n-1}.{b}.conv{i}.weight``
``backbone.bottom_up.res{n}.{b}.conv{i}.norm.*``       ``backbone.layer{n-1}.{b}.bn{i}.*``
``backbone.bottom_up.res{n}.{b}.shortcut.weight``      ``backbone.layer{n-1}.{b}.downsample.0.weight``
``backbone.bottom_up.res{n}.{b}.shortcut.norm.*``      ``backbone.layer{n-1}.{b}.downsample.1.*``
``backbone.fpn_lateral{n}.*``                          ``neck.lateral_convs.{n-2}.conv.*``
``backbone.fpn_output{n}.*``                           ``neck.fpn_convs.{n-2}.conv.*``
``proposal_generator.rpn_head.conv.*``                 ``rpn_head.rpn_conv.*``
``proposal_generator.rpn_head.objectness_logits.*``    ``rpn_head.rpn_cls.*``
``proposal_generator.rpn_head.anchor_deltas.*``        ``rpn_head.rpn_reg.*``
``roi_heads.box_head.fc{i}.*``                         ``roi_head.bbox_head.shared_fcs.{i-1}.*``
``roi_heads.box_predictor.cls_score.*``                ``roi_head.bbox_head.fc_cls.*``
``roi_heads.box_predictor.bbox_pred.*``                ``roi_head.bbox_head.fc_reg.*``
``roi_heads.mask_head.coarse_head.``                   ``roi_head.mask_head.``
  ``reduce_spatial_dim_conv / fc{i} / prediction``       ``reduce / fcs.{i-1} / predictor``
``roi_heads.mask_head.point_head.fc{i} / predictor``   ``roi_head.point_head.fcs.{i-1} / fc_logits``
``roi_heads.mask_coarse_head.`` (``_version`` 1)       ``roi_head.mask_head.``
  ``reduce_spatial_dim_conv / coarse_mask_fc{i} /``      ``reduce / fcs.{i-1} / predictor``
  ``prediction``
``roi_heads.mask_point_head.fc{i} / predictor`` (v1)   ``roi_head.point_head.fcs.{i-1} / fc_logits``
``sem_seg_head.coarse_sem_seg_head.p{n}.{j}.weight``   ``decode_head.0.scale_heads.{n-2}.{j}.conv.weight``
``sem_seg_head.coarse_sem_seg_head.p{n}.{j}.norm.*``   ``decode_head.0.scale_heads.{n-2}.{j}.gn.*``
``sem_seg_head.coarse_sem_seg_head.predictor.*``       ``decode_head.0.conv_seg.*``
``sem_seg_head.point_head.fc{i} / predictor``          ``decode_head.1.point_head.fcs.{i-1} / fc_logits``
=====================================================  ==========================================

What needs no change, and why (checked against both code bases):

* class order: detectron2 maps COCO category ids to contiguous indices in
  sorted id order, as mmdet's ``CocoDataset`` does; Cityscapes things are
  ``person, rider, car, truck, bus, train, motorcycle, bicycle`` in both;
  Cityscapes semantic uses the 19 train ids in both.
* background: ``cls_score`` has K + 1 outputs with background last, as mmdet's
  ``fc_cls``; ``bbox_pred`` is 4K class-specific deltas in the same order.
* box regression weights (10, 10, 5, 5) equal mmdet's ``target_stds``
  (0.1, 0.1, 0.2, 0.2); RPN weights (1, 1, 1, 1) equal the RPN's stds.
* anchors: one size per level (32..512), ratios 0.5 / 1 / 2 in that order,
  offset 0, like mmdet's ``AnchorGenerator(scales=[8], strides=[4..64])``.
* RoIAlign: detectron2's ``ROIAlignV2`` is ``aligned=True``, mmcv's default;
  sampling ratio 0 in both; level assignment ``floor(4 + log2(sqrt(area) /
  224))`` equals mmdet's ``finest_scale=56`` rule.
* the coarse head's 14x14 input is bilinear samples of P2 at bin centres,
  which is what :class:`PointRendGridExtractor` computes.

What the config has to state (the provided ``*_d2-zoo`` configs do): BGR
input, pixel mean (103.53, 116.28, 123.675) and std (1, 1, 1) for the MSRA
ResNets (caffe style, stride in the 1x1 conv) or std (57.375, 57.12, 58.395)
for the FAIR ResNeXt (stride in the 3x3 conv). When the file holds
``pixel_mean`` / ``pixel_std``, :func:`check_preprocessing` compares them with
a config.
"""
import io
import pickle
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import Tensor

# (detectron2 pattern, ours) on whole keys; the first match wins
_BACKBONE = (
    (r'backbone\.bottom_up\.stem\.conv1\.weight$', 'backbone.conv1.weight'),
    (r'backbone\.bottom_up\.stem\.conv1\.norm\.', 'backbone.bn1.'),
    (r'backbone\.bottom_up\.res(\d)\.(\d+)\.shortcut\.weight$',
     lambda m: f'backbone.layer{int(m[1]) - 1}.{m[2]}.downsample.0.weight'),
    (r'backbone\.bottom_up\.res(\d)\.(\d+)\.shortcut\.norm\.',
     lambda m: f'backbone.layer{int(m[1]) - 1}.{m[2]}.downsample.1.'),
    (r'backbone\.bottom_up\.res(\d)\.(\d+)\.conv(\d)\.weight$',
     lambda m: f'backbone.layer{int(m[1]) - 1}.{m[2]}.conv{m[3]}.weight'),
    (r'backbone\.bottom_up\.res(\d)\.(\d+)\.conv(\d)\.norm\.',
     lambda m: f'backbone.layer{int(m[1]) - 1}.{m[2]}.bn{m[3]}.'),
    (r'backbone\.fpn_lateral(\d)\.',
     lambda m: f'neck.lateral_convs.{int(m[1]) - 2}.conv.'),
    (r'backbone\.fpn_output(\d)\.',
     lambda m: f'neck.fpn_convs.{int(m[1]) - 2}.conv.'),
)
_INSTANCE = (
    (r'proposal_generator\.rpn_head\.conv\.', 'rpn_head.rpn_conv.'),
    (r'proposal_generator\.rpn_head\.objectness_logits\.',
     'rpn_head.rpn_cls.'),
    (r'proposal_generator\.rpn_head\.anchor_deltas\.', 'rpn_head.rpn_reg.'),
    (r'roi_heads\.box_head\.fc(\d)\.',
     lambda m: f'roi_head.bbox_head.shared_fcs.{int(m[1]) - 1}.'),
    (r'roi_heads\.box_predictor\.cls_score\.', 'roi_head.bbox_head.fc_cls.'),
    (r'roi_heads\.box_predictor\.bbox_pred\.', 'roi_head.bbox_head.fc_reg.'),
    # current layout (PointRendMaskHead: coarse_head + point_head)
    (r'roi_heads\.mask_head\.coarse_head\.reduce_spatial_dim_conv\.',
     'roi_head.mask_head.reduce.'),
    (r'roi_heads\.mask_head\.coarse_head\.fc(\d)\.',
     lambda m: f'roi_head.mask_head.fcs.{int(m[1]) - 1}.'),
    (r'roi_heads\.mask_head\.coarse_head\.prediction\.',
     'roi_head.mask_head.predictor.'),
    (r'roi_heads\.mask_head\.point_head\.fc(\d)\.',
     lambda m: f'roi_head.point_head.fcs.{int(m[1]) - 1}.'),
    (r'roi_heads\.mask_head\.point_head\.predictor\.',
     'roi_head.point_head.fc_logits.'),
    # _version 1 layout (PointRendROIHeads: mask_coarse_head, mask_point_head)
    (r'roi_heads\.mask_coarse_head\.reduce_spatial_dim_conv\.',
     'roi_head.mask_head.reduce.'),
    (r'roi_heads\.mask_coarse_head\.(?:coarse_mask_)?fc(\d)\.',
     lambda m: f'roi_head.mask_head.fcs.{int(m[1]) - 1}.'),
    (r'roi_heads\.mask_coarse_head\.prediction\.',
     'roi_head.mask_head.predictor.'),
    (r'roi_heads\.mask_point_head\.fc(\d)\.',
     lambda m: f'roi_head.point_head.fcs.{int(m[1]) - 1}.'),
    (r'roi_heads\.mask_point_head\.predictor\.',
     'roi_head.point_head.fc_logits.'),
    # Implicit PointRend (ImplicitPointRendMaskHead: parameter_head +
    # ImplicitPointHead, whose only tensor is its positional encoding)
    (r'roi_heads\.mask_head\.parameter_head\.reduce_spatial_dim_conv\.',
     'roi_head.mask_head.reduce.'),
    (r'roi_heads\.mask_head\.parameter_head\.fc(\d)\.',
     lambda m: f'roi_head.mask_head.fcs.{int(m[1]) - 1}.'),
    (r'roi_heads\.mask_head\.parameter_head\.prediction\.',
     'roi_head.mask_head.predictor.'),
    (r'roi_heads\.mask_head\.point_head\.'
     r'positional_encoding_gaussian_matrix$',
     'roi_head.point_head.positional_encoding_gaussian_matrix'),
)
_SEMANTIC = (
    (r'sem_seg_head\.coarse_sem_seg_head\.p(\d)\.(\d+)\.weight$',
     lambda m: f'decode_head.0.scale_heads.{int(m[1]) - 2}.{m[2]}'
     '.conv.weight'),
    (r'sem_seg_head\.coarse_sem_seg_head\.p(\d)\.(\d+)\.bias$',
     lambda m: f'decode_head.0.scale_heads.{int(m[1]) - 2}.{m[2]}'
     '.conv.bias'),
    (r'sem_seg_head\.coarse_sem_seg_head\.p(\d)\.(\d+)\.norm\.',
     lambda m: f'decode_head.0.scale_heads.{int(m[1]) - 2}.{m[2]}.gn.'),
    (r'sem_seg_head\.coarse_sem_seg_head\.predictor\.',
     'decode_head.0.conv_seg.'),
    (r'sem_seg_head\.point_head\.fc(\d)\.',
     lambda m: f'decode_head.1.point_head.fcs.{int(m[1]) - 1}.'),
    (r'sem_seg_head\.point_head\.predictor\.',
     'decode_head.1.point_head.fc_logits.'),
)
# keys that hold no weights of ours; dropped and reported
_DROPPED = (
    (r'pixel_(mean|std)$', 'preprocessing constant (the config states it)'),
    (r'.*anchor_generator\.cell_anchors\.\d+$',
     'anchor buffer (rebuilt from the config)'),
)
# d2 modules that have no counterpart in our models: refuse, do not drop
_UNSUPPORTED = (
    (r'roi_heads\.mask_head\.coarse_head\.reduce_channel_dim_conv\.',
     'the coarse head reduces channels with a 1x1 conv only when its input '
     'has more channels than CONV_DIM; none of the zoo models does and our '
     'PointRendCoarseMaskHead has no such layer'),
    (r'roi_heads\.(box_head|box_predictor)\.\d', 'cascade box heads'),
)

_NUMPY_PICKLE_GLOBALS = {
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('collections', 'OrderedDict'),
}


class Detectron2FormatError(ValueError):
    """The file is not a detectron2 checkpoint we can convert."""


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names a global outside the numpy allow-list."""


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays only.

    A zoo file is a pickle; loading an arbitrary pickle runs arbitrary code.
    Detectron2's files need nothing but numpy's array reconstruction, so
    every other global is refused.
    """

    def find_class(self, module, name):
        if (module, name) in _NUMPY_PICKLE_GLOBALS:
            return super().find_class(module, name)
        if module.startswith('numpy') and name.startswith('dtype['):
            return super().find_class(module,
                                      name)  # numpy>=1.20 dtype classes
        raise UnsafePickleError(
            f'refusing to unpickle {module}.{name}: a detectron2 checkpoint '
            'holds only numpy arrays (pass trust=True / --trust-file for a '
            'file you trust that holds other objects)')


def load_detectron2_checkpoint(path: str, trust: bool = False) -> dict:
    """Read a detectron2 ``.pkl`` (zoo format) or ``.pth`` checkpoint.

    Returns:
        dict: ``{'model': {name: np.ndarray or Tensor}, '__author__': str}``.
    """
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'PK':  # a torch zip file (detectron2's own .pth output)
        data = torch.load(
            io.BytesIO(raw), map_location='cpu', weights_only=not trust)
    else:
        unpickler = (pickle.Unpickler if trust else _NumpyOnlyUnpickler)(
            io.BytesIO(raw), encoding='latin1')
        try:
            data = unpickler.load()
        except UnsafePickleError:
            raise
        except Exception as e:  # truncated / not a pickle
            raise Detectron2FormatError(
                f'{path} is not a readable pickle: {e!r}') from None
    if not isinstance(data, dict):
        raise Detectron2FormatError(
            f'{path}: expected a dict, got {type(data).__name__}')
    if 'model' not in data:
        if 'blobs' in data:
            raise Detectron2FormatError(
                f'{path} is a Caffe2 / Detectron (v1) file ("blobs"), not a '
                'detectron2 PointRend checkpoint')
        data = dict(model=data)  # a bare state dict
    if not isinstance(data['model'], dict):
        raise Detectron2FormatError(
            f"{path}: 'model' is a {type(data['model']).__name__}, "
            'expected a dict of arrays')
    return data


def _apply(rules, key):
    for pattern, repl in rules:
        m = re.match(pattern, key)
        if m:
            new = repl(m) if callable(repl) else repl
            return new + key[m.end():]
    return None


def detect_layout(keys) -> str:
    """``'instance'``, ``'instance-v1'``, ``'instance-implicit'`` or
    ``'semantic'``."""
    keys = list(keys)
    if any(k.startswith('sem_seg_head.') for k in keys):
        return 'semantic'
    if any(
            k.startswith(('roi_heads.mask_coarse_head.',
                          'roi_heads.mask_point_head.')) for k in keys):
        return 'instance-v1'
    if any(k.startswith('roi_heads.mask_head.parameter_head.') for k in keys):
        return 'instance-implicit'
    if any(k.startswith('roi_heads.') for k in keys):
        return 'instance'
    raise Detectron2FormatError(
        'no roi_heads.* or sem_seg_head.* keys: not a detectron2 PointRend '
        'instance or semantic segmentation model')


def detectron2_to_mmpointrend(
        model: Dict[str, object]) -> Tuple[Dict[str, Tensor], dict]:
    """Rename a detectron2 PointRend state dict to ours.

    Args:
        model (dict): detectron2 names to numpy arrays or tensors.

    Returns:
        tuple: the state dict (tensors, plus ``num_batches_tracked`` for every
        frozen BN so that ``load_state_dict(strict=True)`` is exact) and a
        report ``dict(layout, num_classes, dropped, pixel_mean, pixel_std)``.

    Raises:
        Detectron2FormatError: on keys that have no place in our model; none
            is ever dropped silently.
    """
    layout = detect_layout(model)
    rules = _BACKBONE + (_SEMANTIC if layout == 'semantic' else _INSTANCE)
    out = OrderedDict()
    report = dict(layout=layout, dropped={}, pixel_mean=None, pixel_std=None)
    unknown: List[str] = []
    for key, value in model.items():
        for pattern, why in _UNSUPPORTED:
            if re.match(pattern, key):
                raise Detectron2FormatError(f'{key}: {why}')
        tensor = torch.as_tensor(
            np.asarray(value)) if not isinstance(value, Tensor) else value
        dropped = next((why for p, why in _DROPPED if re.match(p, key)), None)
        if dropped is not None:
            report['dropped'][key] = dropped
            if key in ('pixel_mean', 'pixel_std'):
                report[key] = [float(v) for v in tensor.flatten()]
            continue
        new = _apply(rules, key)
        if new is None:
            unknown.append(key)
            continue
        out[new] = tensor.clone()
    if unknown:
        raise Detectron2FormatError(
            f'{len(unknown)} detectron2 key(s) have no counterpart in '
            f'mmpointrend ({layout} layout): {unknown[:10]}')
    # frozen BN in detectron2 has no step counter; ours (nn.BatchNorm2d) does
    for key in [k for k in out if k.endswith('.running_mean')]:
        out.setdefault(key[:-len('running_mean')] + 'num_batches_tracked',
                       torch.tensor(0, dtype=torch.long))
    if layout == 'semantic':
        report['num_classes'] = int(
            out['decode_head.0.conv_seg.weight'].shape[0])
    else:
        # cls_score has a background row (last), as mmdet's fc_cls
        report['num_classes'] = int(
            out['roi_head.bbox_head.fc_cls.weight'].shape[0]) - 1
    return out, report


def check_preprocessing(report: dict, data_preprocessor: dict) -> List[str]:
    """Compare the file's pixel mean / std (if stored) with a config's.

    detectron2 feeds BGR images (``bgr_to_rgb=False`` here) and stores mean
    and std in BGR order. Returns a list of problems (empty when they agree).
    """
    problems = []
    if data_preprocessor.get('bgr_to_rgb', False) or data_preprocessor.get(
            'rgb_to_bgr', False):
        problems.append('detectron2 models take BGR images: set '
                        'data_preprocessor.bgr_to_rgb=False')
    for name, key in (('mean', 'pixel_mean'), ('std', 'pixel_std')):
        stored, cfg = report.get(key), data_preprocessor.get(name)
        if stored is None or cfg is None:
            continue
        if not np.allclose(stored, list(cfg), atol=1e-3):
            problems.append(f'data_preprocessor.{name}={list(cfg)} but the '
                            f'checkpoint was trained with {stored}')
    return problems
