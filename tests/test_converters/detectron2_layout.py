"""Detectron2 model-zoo state dicts with random values, written from
detectron2's module structure
(``detectron2/modeling/backbone/{resnet,fpn}.py``,
``proposal_generator/rpn.py``, ``roi_heads/{box_head,fast_rcnn}.py``,
``meta_arch/semantic_seg.py``, ``projects/PointRend/point_rend/*.py``), not
from our converter's tables, so that a wrong rule shows up as a missing or
unexpected key."""
import pickle
from collections import OrderedDict

import numpy as np

_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


def _frozen_bn(d, prefix, c, rng):
    # FrozenBatchNorm2d buffers
    d[prefix + 'weight'] = rng.rand(c).astype(np.float32) + 0.5
    d[prefix + 'bias'] = rng.randn(c).astype(np.float32) * 0.1
    d[prefix + 'running_mean'] = rng.randn(c).astype(np.float32) * 0.1
    d[prefix + 'running_var'] = rng.rand(c).astype(np.float32) + 0.5


def _conv(d, prefix, shape, rng, bias=False):
    # scaled by fan-in so that activations stay finite through a ResNet-101
    std = 1.0 / np.sqrt(np.prod(shape[1:]))
    d[prefix + 'weight'] = (rng.randn(*shape) * std).astype(np.float32)
    if bias:
        d[prefix + 'bias'] = (rng.randn(shape[0]) * 0.05).astype(np.float32)


def resnet_fpn(depth=50, groups=1, width_per_group=64, rng=None):
    """``backbone.*`` of build_resnet_fpn_backbone (ResNet + FPN, FrozenBN)."""
    rng = rng or np.random.RandomState(0)
    d = OrderedDict()
    _conv(d, 'backbone.bottom_up.stem.conv1.', (64, 3, 7, 7), rng)
    _frozen_bn(d, 'backbone.bottom_up.stem.conv1.norm.', 64, rng)
    in_c, out_c, bott = 64, 256, groups * width_per_group
    for stage, n in enumerate(_BLOCKS[depth]):
        for b in range(n):
            p = f'backbone.bottom_up.res{stage + 2}.{b}.'
            if in_c != out_c:
                _conv(d, p + 'shortcut.', (out_c, in_c, 1, 1), rng)
                _frozen_bn(d, p + 'shortcut.norm.', out_c, rng)
            _conv(d, p + 'conv1.', (bott, in_c, 1, 1), rng)
            _frozen_bn(d, p + 'conv1.norm.', bott, rng)
            _conv(d, p + 'conv2.', (bott, bott // groups, 3, 3), rng)
            _frozen_bn(d, p + 'conv2.norm.', bott, rng)
            _conv(d, p + 'conv3.', (out_c, bott, 1, 1), rng)
            _frozen_bn(d, p + 'conv3.norm.', out_c, rng)
            in_c = out_c
        out_c, bott = out_c * 2, bott * 2
    for lvl, c in zip((2, 3, 4, 5), (256, 512, 1024, 2048)):
        _conv(d, f'backbone.fpn_lateral{lvl}.', (256, c, 1, 1), rng, True)
        _conv(d, f'backbone.fpn_output{lvl}.', (256, 256, 3, 3), rng, True)
    return d


def pointrend_instance(num_classes=80,
                       depth=50,
                       groups=1,
                       width_per_group=64,
                       version=2,
                       seed=0):
    """pointrend_rcnn_*: GeneralizedRCNN + PointRend mask head."""
    rng = np.random.RandomState(seed)
    d = resnet_fpn(depth, groups, width_per_group, rng)
    _conv(d, 'proposal_generator.rpn_head.conv.', (256, 256, 3, 3), rng, True)
    _conv(d, 'proposal_generator.rpn_head.objectness_logits.', (3, 256, 1, 1),
          rng, True)
    _conv(d, 'proposal_generator.rpn_head.anchor_deltas.', (12, 256, 1, 1),
          rng, True)
    _conv(d, 'roi_heads.box_head.fc1.', (1024, 256 * 7 * 7), rng, True)
    _conv(d, 'roi_heads.box_head.fc2.', (1024, 1024), rng, True)
    _conv(d, 'roi_heads.box_predictor.cls_score.', (num_classes + 1, 1024),
          rng, True)
    _conv(d, 'roi_heads.box_predictor.bbox_pred.', (4 * num_classes, 1024),
          rng, True)
    if version == 2:  # PointRendMaskHead: coarse_head (ConvFCHead), point_head
        coarse, fc, point = ('roi_heads.mask_head.coarse_head.', 'fc',
                             'roi_heads.mask_head.point_head.')
    else:  # PointRendROIHeads before ConvFCHead._version 2
        coarse, fc, point = ('roi_heads.mask_coarse_head.', 'coarse_mask_fc',
                             'roi_heads.mask_point_head.')
    _conv(d, coarse + 'reduce_spatial_dim_conv.', (256, 256, 2, 2), rng, True)
    _conv(d, coarse + f'{fc}1.', (1024, 256 * 7 * 7), rng, True)
    _conv(d, coarse + f'{fc}2.', (1024, 1024), rng, True)
    _conv(d, coarse + 'prediction.', (num_classes * 7 * 7, 1024), rng, True)
    _point_head(d, point, 256, num_classes, rng)
    # GeneralizedRCNN buffers, present in the 2020 zoo files
    d['pixel_mean'] = np.array([103.53, 116.28, 123.675],
                               np.float32).reshape(3, 1, 1)
    d['pixel_std'] = np.array(
        [1.0, 1.0, 1.0] if groups == 1 else [57.375, 57.12, 58.395],
        np.float32).reshape(3, 1, 1)
    return d


def _point_head(d, prefix, in_c, num_classes, rng):
    """StandardPointHead: fc1..fc3 (Conv1d), predictor; coarse each layer."""
    c_in = in_c + num_classes
    for i in (1, 2, 3):
        _conv(d, prefix + f'fc{i}.', (256, c_in, 1), rng, True)
        c_in = 256 + num_classes
    _conv(d, prefix + 'predictor.', (num_classes, c_in, 1), rng, True)


def write_zoo_file(path, model):
    """The zoo's pickle layout: {'model': {name: ndarray}, '__author__'}."""
    with open(path, 'wb') as f:
        pickle.dump(dict(model=model, __author__='Detectron2 Model Zoo'), f)
