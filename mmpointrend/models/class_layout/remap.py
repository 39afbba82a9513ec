"""Rewriting a checkpoint's class-dependent tensors for a model with other
classes, and the report of what was done."""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from .axis import ClassAxis
from .matching import match_classes
from .upstream import class_axes_of


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


def _checkpoint_classes(
        report: ClassRemapReport, layouts: dict, state_dict: Dict[str, Tensor],
        src_classes: Optional[Sequence[str]],
        class_map: Optional[Mapping[str, str]]) -> Optional[int]:
    """Fill ``report.src_of_dst`` / ``report.how`` (which checkpoint class
    each model class takes) and return the checkpoint's class count (None
    when its tensors do not agree on one)."""
    dst_classes = report.dst_classes
    if src_classes is not None:
        report.src_of_dst, report.how = match_classes(dst_classes, src_classes,
                                                      class_map)
        return len(src_classes)
    if class_map:
        raise ValueError('class_map needs the checkpoint\'s class names '
                         '(meta.dataset_meta.classes); this checkpoint '
                         'has none: give source_classes')
    # the checkpoint's class count from the shapes
    src_counts = {
        axis.num_classes(state_dict[name].shape[axis.dim])
        for name, (_, axes) in layouts.items() if name in state_dict
        for axis in axes
    }
    num_src = src_counts.pop() if len(src_counts) == 1 else None
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
    return num_src


def _class_indices(axes: List[ClassAxis], value: Tensor, target: Tensor,
                   num_src: Optional[int], src_of_dst: list):
    """For a class-dependent tensor: ``({dim: source index}, None)``, or
    ``(None, why it cannot be remapped)``."""
    indices = {}
    for axis in axes:
        size = value.shape[axis.dim] if axis.dim < value.dim() else -1
        if num_src is None or axis.size(num_src) != size:
            return None, (f'shape {tuple(value.shape)} does not fit '
                          f'{num_src} checkpoint classes')
        indices[axis.dim] = axis.source_index(num_src, src_of_dst)
    others = [d for d in range(target.dim()) if d not in indices]
    if value.dim() != target.dim() or any(value.shape[d] != target.shape[d]
                                          for d in others):
        return None, (f'shape {tuple(value.shape)} in the checkpoint, '
                      f'{tuple(target.shape)} in the model')
    return indices, None


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
    for name, (num, _) in layouts.items():
        if num != len(dst_classes):
            raise ValueError(
                f'{name.rsplit(".", 2)[0]} has num_classes={num} but the '
                f'dataset has {len(dst_classes)} classes: set num_classes '
                f'to {len(dst_classes)}')
    report = ClassRemapReport(
        dst_classes, None if src_classes is None else list(src_classes), [],
        [])
    num_src = _checkpoint_classes(report, layouts, state_dict, src_classes,
                                  class_map)
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
        indices, problem = _class_indices(axes, value, target, num_src,
                                          report.src_of_dst)
        if problem is not None:
            del state_dict[name]
            report.initialised.append((name, problem))
            continue
        state_dict[name] = _remap_tensor(target.detach().cpu(), value, indices)
        report.remapped.append((name, tuple(value.shape), tuple(target.shape),
                                _describe(axes, copied, len(dst_classes))))
    return report
