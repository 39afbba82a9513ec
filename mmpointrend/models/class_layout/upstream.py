"""The class axes of mmdet's and mmseg's own heads (which cannot carry a
``class_axes`` method), and of every head of a model."""
from typing import Dict, List, Tuple

import torch.nn as nn

from .axis import ClassAxis


def _axes_of_bbox_head(head) -> Dict[str, List[ClassAxis]]:
    """mmdet ``BBoxHead`` and its subclasses: the classifier's ``K`` class
    rows (then background and any extra rows) and, unless class-agnostic,
    ``box_dim`` delta rows per class."""
    axes = {}
    k = head.num_classes
    fc_cls = getattr(head, 'fc_cls', None) if head.with_cls else None
    if isinstance(fc_cls, nn.Linear) and fc_cls.out_features >= k:
        axis = ClassAxis.blocks(0, after=fc_cls.out_features - k)
        axes.update({'fc_cls.weight': [axis], 'fc_cls.bias': [axis]})
    fc_reg = getattr(head, 'fc_reg', None) if head.with_reg else None
    if isinstance(fc_reg, nn.Linear) and not head.reg_class_agnostic and \
            fc_reg.out_features == k * head.bbox_coder.encode_size:
        axis = ClassAxis.blocks(0, group=head.bbox_coder.encode_size)
        axes.update({'fc_reg.weight': [axis], 'fc_reg.bias': [axis]})
    return axes


def _axes_of_out_channels(layer_name: str):
    """A head whose ``layer_name`` conv predicts one channel per class
    (mmdet's ``FCNMaskHead.conv_logits``, mmseg's ``conv_seg``)."""

    def axes(head) -> Dict[str, List[ClassAxis]]:
        layer = getattr(head, layer_name, None)
        if getattr(layer, 'out_channels', None) != head.num_classes:
            return {}  # class-agnostic or binary (one channel)
        axis = ClassAxis.blocks(0)
        return {f'{layer_name}.weight': [axis], f'{layer_name}.bias': [axis]}

    return axes


def _upstream_layouts() -> list:
    """``(class, axes function)`` for mmdet's and mmseg's heads, which
    cannot carry a ``class_axes`` method of their own."""
    from mmdet.models.roi_heads.bbox_heads import BBoxHead
    from mmdet.models.roi_heads.mask_heads import FCNMaskHead
    layouts = [(BBoxHead, _axes_of_bbox_head),
               (FCNMaskHead, _axes_of_out_channels('conv_logits'))]
    try:
        from mmseg.models.decode_heads.decode_head import BaseDecodeHead
    except ImportError:  # mmsegmentation is optional
        return layouts
    return layouts + [(BaseDecodeHead, _axes_of_out_channels('conv_seg'))]


def class_axes_of(model: nn.Module) -> Dict[str, Tuple[int, List[ClassAxis]]]:
    """Every class-dependent tensor of ``model``: full name -> (the owning
    head's class count, its axes). A module with ``class_agnostic=True``
    has none (its ``num_classes`` is not the dataset's)."""
    layouts = _upstream_layouts()
    found = {}
    for prefix, module in model.named_modules():
        if getattr(module, 'class_agnostic', False) is True:
            continue  # one prediction whatever the class (e.g. K=1 of 80)
        own = getattr(module, 'class_axes', None)
        if callable(own):
            axes = own()
        else:
            axes = next(
                (fn(module) for cls, fn in layouts if isinstance(module, cls)),
                {})
        for name, tensor_axes in axes.items():
            full = f'{prefix}.{name}' if prefix else name
            found[full] = (module.num_classes, tensor_axes)
    return found
