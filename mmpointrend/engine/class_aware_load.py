"""``load_from`` a checkpoint trained on other classes, keeping what applies.

mmengine loads ``load_from`` non-strictly: every tensor whose shape differs
from the model's is dropped with a "size mismatch" warning. For PointRend
fine-tuned to new classes that drops the box classifier and the coarse
predictor (as expected) but also the *whole* point head, whose layers all
read the ``K`` coarse logits, and the rows of the classes the new dataset
shares with the old one.

:class:`ClassAwareLoadHook` rewrites the checkpoint between mmengine reading
it and loading it into the model (``after_load_checkpoint``, after the
model's own initialisation) with
:func:`mmpointrend.models.class_layout.remap_class_weights`: class-independent
weights are kept, same-named classes (or those of ``class_map``) copied, new
classes keep their initialisation, and the log shows one table of it.
``tools/train.py`` and ``tools/test.py`` add the hook whenever a config has
``load_from``; with MMDetection's or MMSegmentation's own tools put it in
``custom_hooks`` (the fine-tuning configs do).
"""
import logging
from typing import Mapping, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS
from mmengine.runner import BaseLoop

from mmpointrend.models.class_layout import remap_class_weights

__all__ = ['ClassAwareLoadHook', 'checkpoint_classes']


def checkpoint_classes(checkpoint: dict) -> Optional[list]:
    """The class names a checkpoint stores: mmengine's
    ``meta.dataset_meta.classes``, or mmdet 2.x / mmseg 0.x's
    ``meta.CLASSES``; None when it stores none."""
    meta = checkpoint.get('meta') or {}
    classes = (meta.get('dataset_meta') or {}).get('classes')
    if classes is None:
        classes = meta.get('CLASSES')
    return None if classes is None else list(classes)


def _runner_classes(runner) -> Optional[list]:
    """The classes of the dataset the runner is about to use.

    The built loop's dataloader is read (training first): mmengine has no
    public way to ask whether a loop was built, and its ``train_loop``
    property would build the loop (and the dataset) if it was not.
    """
    for attr in ('_train_loop', '_test_loop', '_val_loop'):
        loop = getattr(runner, attr, None)
        if isinstance(loop, BaseLoop):
            classes = (getattr(loop.dataloader.dataset, 'metainfo', None)
                       or {}).get('classes')
            if classes is not None:
                return list(classes)
    return None


@HOOKS.register_module()
class ClassAwareLoadHook(Hook):
    """Load weights of other classes into the model (see the module doc).

    Args:
        class_map (Mapping[str, str], optional): The model's class name ->
            the checkpoint's, for renamed classes (``{'pedestrian':
            'person'}``); other classes are matched by name
            (case-insensitive). Defaults to None.
        source_classes (Sequence[str], optional): The checkpoint's classes,
            for a checkpoint that stores none. Defaults to None (read from
            the checkpoint's ``meta``).
        classes (Sequence[str], optional): The model's classes. Defaults to
            None (the running dataset's ``metainfo['classes']``).
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 class_map: Optional[Mapping[str, str]] = None,
                 source_classes: Optional[Sequence[str]] = None,
                 classes: Optional[Sequence[str]] = None) -> None:
        self.class_map = dict(class_map or {})
        self.source_classes = (None if source_classes is None else
                               list(source_classes))
        self.classes = None if classes is None else list(classes)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rewrite ``checkpoint['state_dict']`` for the model's classes."""
        from mmengine.model import is_model_wrapper
        dst = self.classes or _runner_classes(runner)
        if dst is None:
            print_log(
                'ClassAwareLoadHook: the dataset names no classes; the '
                'checkpoint is loaded as it is',
                logger='current',
                level=logging.WARNING)
            return
        src = self.source_classes or checkpoint_classes(checkpoint)
        state_dict = checkpoint.get('state_dict', checkpoint)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        # keys as the model's: mmengine strips the wrapper prefix later too
        for key in [k for k in state_dict if k.startswith('module.')]:
            state_dict[key[len('module.'):]] = state_dict.pop(key)
        report = remap_class_weights(model, state_dict, dst, src,
                                     self.class_map)
        if src is not None and list(src) == list(dst) and \
                not report.initialised:
            return  # same classes in the same order: nothing to say
        for warning in report.warnings:
            print_log(
                f'ClassAwareLoadHook: {warning}',
                logger='current',
                level=logging.WARNING)
        print_log(report.table(), logger='current')
