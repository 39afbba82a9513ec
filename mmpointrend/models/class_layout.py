"""Which weights index classes, and loading a checkpoint into other classes.

Shape shorthand: ``K`` the model's classes, ``K'`` the checkpoint's.

A head says which of its tensors depend on the classes with
``class_axes() -> {tensor name: [ClassAxis, ...]}``: a dimension of the
tensor laid out as parts, each either entries that do not depend on the
classes (the point head's fine-feature columns, the box classifier's
background row) or one block of entries per class (a class's row, its 4 box
deltas, its 7x7 coarse mask). mmdet's and mmseg's own heads (box head, 4x
conv mask head, decode heads) are described here, in one place.

:func:`remap_class_weights` rewrites a checkpoint's state dict for a model
with other classes: tensors that do not depend on the classes are kept as
they are; class-dependent ones take the model's freshly initialised values
and get the class-independent entries plus the blocks of every class found
in both class lists (by name, case-insensitive, or through a user map)
copied from the checkpoint. It returns a :class:`ClassRemapReport` that
prints as one table of what was kept, mapped and initialised.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

__all__ = [
    'ClassAxis', 'class_axes_of', 'match_classes', 'remap_class_weights',
    'ClassRemapReport'
]

_FIXED, _CLASSES = 'fixed', 'classes'


@dataclass(frozen=True)
class ClassAxis:
    """How one dimension of a tensor depends on the classes.

    Args:
        dim (int): The dimension.
        parts (tuple): Consecutive parts of the dimension, each
            ``('fixed', n)`` (``n`` entries that do not depend on the
            classes) or ``('classes', g)`` (``K`` blocks of ``g`` entries,
            class ``k``'s block ``k``).
    """

    dim: int
    parts: Tuple[Tuple[str, int], ...]

    @classmethod
    def blocks(cls,
               dim: int,
               group: int = 1,
               before: int = 0,
               after: int = 0) -> 'ClassAxis':
        """``before`` fixed entries, ``K`` blocks of ``group``, ``after``
        fixed entries (e.g. a classifier with a background row:
        ``blocks(0, after=1)``)."""
        return cls(dim, ((_FIXED, before), (_CLASSES, group), (_FIXED, after)))

    def size(self, num_classes: int) -> int:
        """The dimension's length for ``num_classes`` classes."""
        return sum(n * (num_classes if kind == _CLASSES else 1)
                   for kind, n in self.parts)

    @property
    def fixed(self) -> int:
        """Entries that do not depend on the classes."""
        return sum(n for kind, n in self.parts if kind == _FIXED)

    def num_classes(self, size: int) -> Optional[int]:
        """The class count a dimension of length ``size`` has, or None when
        no class count gives that length."""
        per_class = sum(n for kind, n in self.parts if kind == _CLASSES)
        if size < self.fixed or per_class == 0 or \
                (size - self.fixed) % per_class:
            return None
        return (size - self.fixed) // per_class

    def source_index(self, num_src: int,
                     src_of_dst: Sequence[Optional[int]]) -> Tensor:
        """For each entry of the model's dimension (one class per entry of
        ``src_of_dst``), the checkpoint's entry (``num_src`` classes) it
        takes, or -1 (keep the model's initialised value)."""
        out = []
        src_offset = 0
        for kind, n in self.parts:
            if kind == _FIXED:
                out.extend(range(src_offset, src_offset + n))
                src_offset += n
                continue
            for src in src_of_dst:
                if src is None:
                    out.extend([-1] * n)
                else:
                    start = src_offset + src * n
                    out.extend(range(start, start + n))
            src_offset += n * num_src
        return torch.tensor(out, dtype=torch.long)


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
    head's class count, its axes)."""
    layouts = _upstream_layouts()
    found = {}
    for prefix, module in model.named_modules():
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


def match_classes(
    dst_classes: Sequence[str],
    src_classes: Optional[Sequence[str]],
    class_map: Optional[Mapping[str, str]] = None
) -> Tuple[List[Optional[int]], List[str]]:
    """For each of the model's classes, the checkpoint's class it takes.

    Args:
        dst_classes (Sequence[str]): The model's (the dataset's) classes.
        src_classes (Sequence[str], optional): The checkpoint's classes.
        class_map (Mapping[str, str], optional): Model class name ->
            checkpoint class name, for renamed classes (``{'pedestrian':
            'person'}``); takes precedence over same names.

    Returns:
        tuple: ``src_of_dst`` (a checkpoint index or None per model class)
        and how each was matched ('same name', 'class_map', 'new').
    """
    class_map = dict(class_map or {})
    unknown = [k for k in class_map if k not in dst_classes]
    if unknown:
        raise KeyError(f'class_map names {unknown}, which are not classes '
                       f'of the model: {list(dst_classes)}')
    lower = {name.strip().lower(): i for i, name in enumerate(src_classes)}
    src_of_dst, how = [], []
    for name in dst_classes:
        if name in class_map:
            src_name = class_map[name]
            if src_name.strip().lower() not in lower:
                raise KeyError(f'class_map maps {name!r} to {src_name!r}, '
                               'which is not a class of the checkpoint '
                               f'(it has {len(src_classes)}: '
                               f'{list(src_classes)[:10]}...)')
            src_of_dst.append(lower[src_name.strip().lower()])
            how.append('class_map')
        elif name.strip().lower() in lower:
            src_of_dst.append(lower[name.strip().lower()])
            how.append('same name')
        else:
            src_of_dst.append(None)
            how.append('new')
    return src_of_dst, how


@dataclass
class ClassRemapReport:
    """What :func:`remap_class_weights` kept, mapped and initialised."""

    dst_classes: List[str]
    src_classes: Optional[List[str]]
    src_of_dst: List[Optional[int]]
    how: List[str]
    kept: int = 0  # tensors loaded whole (no class dimension)
    #: (name, source shape, model shape, what happened)
    remapped: List[Tuple[str, tuple, tuple, str]] = field(default_factory=list)
    #: (name, why) tensors left at the model's initialisation
    initialised: List[Tuple[str, str]] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    def table(self) -> str:
        """The classes, then every class-dependent tensor, as text."""
        src = self.src_classes
        lines = [
            'Loading weights of '
            f"{len(src) if src is not None else 'unnamed'} classes into a "
            f'model of {len(self.dst_classes)}:',
            f"  {'model class':<24} checkpoint class",
        ]
        for name, src_idx, how in zip(self.dst_classes, self.src_of_dst,
                                      self.how):
            if src_idx is None:
                what = 'initialised (no such class in the checkpoint)'
            elif src is None:
                what = f'#{src_idx} (no names: same position assumed)'
            else:
                what = f'{src[src_idx]} ({how})'
            lines.append(f'  {name:<24} {what}')
        lines.append(f'{self.kept} tensors without a class dimension kept '
                     f'as they are; {len(self.remapped)} class-dependent '
                     'tensors:')
        for name, src_shape, dst_shape, what in self.remapped:
            lines.append(f'  {name} {tuple(src_shape)} -> '
                         f'{tuple(dst_shape)}: {what}')
        if self.initialised:
            lines.append('left as initialised:')
            lines += [f'  {name}: {why}' for name, why in self.initialised]
        return '\n'.join(lines)


def _remap_tensor(dst: Tensor, src: Tensor, indices: Dict[int,
                                                          Tensor]) -> Tensor:
    """``dst`` with the entries whose per-dimension source index is >= 0
    taken from ``src`` (dimensions not in ``indices`` map one to one)."""
    gathered = src
    mask = torch.ones((), dtype=torch.bool)
    for d in range(dst.dim()):
        index = indices.get(d, torch.arange(dst.shape[d]))
        gathered = gathered.index_select(d, index.clamp(min=0))
        shape = [1] * dst.dim()
        shape[d] = -1
        mask = mask & (index >= 0).reshape(shape)
    return torch.where(mask, gathered.to(dst), dst)


def _describe(axes: List[ClassAxis], copied: int, num_dst: int) -> str:
    """``'2/3 classes copied, 64 class-independent columns kept'``."""
    kept = []
    for axis in axes:
        fixed = axis.fixed
        if fixed:
            what = {
                0: 'row',
                1: 'column'
            }.get(axis.dim, f'entry of dim '
                  f'{axis.dim}')
            plural = what + ('s' if fixed > 1 and axis.dim < 2 else '')
            kept.append(f'{fixed} class-independent {plural} kept')
    return ', '.join([f'{copied}/{num_dst} classes copied'] + kept)


def remap_class_weights(
        model: nn.Module,
        state_dict: Dict[str, Tensor],
        dst_classes: Sequence[str],
        src_classes: Optional[Sequence[str]] = None,
        class_map: Optional[Mapping[str, str]] = None) -> ClassRemapReport:
    """Rewrite ``state_dict`` (in place) so that it loads into ``model``,
    whose classes are ``dst_classes``.

    Class-dependent tensors (:func:`class_axes_of`) start from the model's
    current (initialised) values; the checkpoint's class-independent
    entries and the blocks of the classes matched by :func:`match_classes`
    are copied in. Without ``src_classes`` the checkpoint's classes are
    assumed to be the model's, in the same order, when their count agrees
    (a warning says so), and no class is copied otherwise (warning too).
    A tensor without a class dimension whose shape differs from the model's
    is dropped from ``state_dict`` (the model keeps its initialisation) and
    reported.

    Args:
        model (nn.Module): The model (its heads' ``num_classes`` equal to
            ``len(dst_classes)``), already initialised.
        state_dict (dict): The checkpoint's, keys as the model's.
        dst_classes (Sequence[str]): The model's classes.
        src_classes (Sequence[str], optional): The checkpoint's classes.
        class_map (Mapping[str, str], optional): See :func:`match_classes`.

    Returns:
        ClassRemapReport: What was kept, mapped and initialised.
    """
    dst_classes = list(dst_classes)
    layouts = class_axes_of(model)
    own = dict(model.state_dict())
    report = ClassRemapReport(
        dst_classes, None if src_classes is None else list(src_classes), [],
        [])
    for name, (num, _) in layouts.items():
        if num != len(dst_classes):
            raise ValueError(
                f'{name.rsplit(".", 2)[0]} has num_classes={num} but the '
                f'dataset has {len(dst_classes)} classes: set num_classes '
                f'to {len(dst_classes)}')
    if src_classes is not None:
        num_src = len(src_classes)
        report.src_of_dst, report.how = match_classes(dst_classes, src_classes,
                                                      class_map)
    else:  # the checkpoint's class count from the shapes
        src_counts = {
            axis.num_classes(state_dict[name].shape[axis.dim])
            for name, (_, axes) in layouts.items() if name in state_dict
            for axis in axes
        }
        num_src = src_counts.pop() if len(src_counts) == 1 else None
        if class_map:
            raise ValueError('class_map needs the checkpoint\'s class names '
                             '(meta.dataset_meta.classes); this checkpoint '
                             'has none: give source_classes')
        if num_src == len(dst_classes):
            report.src_of_dst = list(range(num_src))
            report.how = ['same position'] * num_src
            report.warnings.append(
                f'the checkpoint stores no class names; its {num_src} '
                'classes are taken to be the model\'s, in the same order')
        else:
            report.src_of_dst = [None] * len(dst_classes)
            report.how = ['new'] * len(dst_classes)
            report.warnings.append(
                'the checkpoint stores no class names and has '
                f'{num_src if num_src is not None else "another number of"}'
                f' classes: only weights that do not depend on the classes '
                'are loaded, every class row starts from its initialisation')
    copied = sum(s is not None for s in report.src_of_dst)
    for name, value in list(state_dict.items()):
        if name not in own:
            continue  # mmengine reports unexpected keys
        target = own[name]
        if name not in layouts:
            if tuple(value.shape) == tuple(target.shape):
                report.kept += 1
            else:
                del state_dict[name]
                report.initialised.append(
                    (name, f'shape {tuple(value.shape)} in the checkpoint, '
                     f'{tuple(target.shape)} in the model'))
            continue
        axes = layouts[name][1]
        indices, problem = {}, None
        for axis in axes:
            size = value.shape[axis.dim] if axis.dim < value.dim() else -1
            if num_src is None or axis.size(num_src) != size:
                problem = (f'shape {tuple(value.shape)} does not fit '
                           f'{num_src} checkpoint classes')
                break
            indices[axis.dim] = axis.source_index(num_src, report.src_of_dst)
        others = [d for d in range(target.dim()) if d not in indices]
        if problem is None and (value.dim() != target.dim()
                                or any(value.shape[d] != target.shape[d]
                                       for d in others)):
            problem = (f'shape {tuple(value.shape)} in the checkpoint, '
                       f'{tuple(target.shape)} in the model')
        if problem is not None:
            del state_dict[name]
            report.initialised.append((name, problem))
            continue
        state_dict[name] = _remap_tensor(target.detach().cpu(), value, indices)
        report.remapped.append((name, tuple(value.shape), tuple(target.shape),
                                _describe(axes, copied, len(dst_classes))))
    return report
