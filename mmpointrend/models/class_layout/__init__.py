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
from .axis import ClassAxis
from .matching import match_classes
from .remap import ClassRemapReport, remap_class_weights
from .upstream import class_axes_of

__all__ = [
    'ClassAxis', 'class_axes_of', 'match_classes', 'remap_class_weights',
    'ClassRemapReport'
]
