"""Build a model from a config and a checkpoint, with its ``dataset_meta``.

mmdet's ``init_detector`` gives a checkpoint without ``meta.dataset_meta``
COCO's class names (wrong for a Cityscapes model), and mmseg's
``init_model`` crashes on it for a ``CascadeEncoderDecoder`` (it reads
``model.decode_head.num_classes`` from a ``ModuleList``). Converted
checkpoints (detectron2's zoo files hold no class names) are exactly such
files, so our tools take the class names and palette from the config's test
dataset instead, as the converters now store them.
"""
import copy
import warnings
from typing import Optional, Union

from mmengine.config import Config


def is_semantic_config(cfg: Config) -> bool:
    """Whether ``cfg`` is an mmseg (semantic segmentation) config."""
    return cfg.get('default_scope', 'mmdet') == 'mmseg'


def dataset_meta_from_config(cfg: Config) -> dict:
    """``classes`` and ``palette`` of the config's test dataset.

    Built the way mmdet's ``init_detector`` reads a palette: the dataset
    with ``lazy_init=True`` (no annotation file is read), so a ``metainfo``
    override in the config (a subset of classes, say) is honoured.

    Returns:
        dict: ``classes`` (tuple of str) and ``palette`` (list of RGB
        tuples) when the dataset has one.

    Raises:
        ValueError: when the config has no test dataset with class names.
    """
    from mmengine.registry import DATASETS, init_default_scope
    dataset = (cfg.get('test_dataloader') or {}).get('dataset')
    if dataset is None:
        raise ValueError('the config has no test_dataloader.dataset to take '
                         'class names from')
    dataset = copy.deepcopy(dataset)
    while 'dataset' in dataset and 'type' in dataset.get('dataset', {}):
        dataset = dataset['dataset']  # a dataset wrapper
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset['lazy_init'] = True
    metainfo = DATASETS.build(dataset).metainfo
    if not metainfo.get('classes'):
        raise ValueError(f"{dataset['type']} has no class names")
    meta = dict(classes=tuple(metainfo['classes']))
    if metainfo.get('palette') is not None:
        meta['palette'] = [tuple(c) for c in metainfo['palette']]
    return meta


def checkpoint_dataset_meta(meta: Optional[dict],
                            cfg: Config,
                            checkpoint: Optional[str] = None) -> dict:
    """A checkpoint's ``meta.dataset_meta`` (keys lower-cased, as mmdet),
    or, when it has none, the config's test-dataset classes and palette with
    a warning naming ``checkpoint``."""
    dataset_meta = (meta or {}).get('dataset_meta')
    if dataset_meta:
        return {k.lower(): v for k, v in dataset_meta.items()}
    dataset_meta = dataset_meta_from_config(cfg)
    if checkpoint is not None:
        warnings.warn(
            f'{checkpoint} stores no dataset_meta: class names and palette '
            "are taken from the config's test dataset "
            f"({len(dataset_meta['classes'])} classes)")
    return dataset_meta


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None):
    """An mmdet detector or mmseg segmentor in eval mode, with weights.

    Like mmdet's ``init_detector`` / mmseg's ``init_model`` (pretrained
    backbone weights are not downloaded), except that ``dataset_meta`` comes
    from the checkpoint when it has one and otherwise from the config's test
    dataset, with a warning, never from a guess by class count.

    Args:
        config (str or Config): Config file or object.
        checkpoint (str, optional): Weights; None keeps the initialisation.
        device (str): Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The model, with ``cfg`` and ``dataset_meta`` set.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from mmpointrend.utils import register_checkpoint_safe_globals
    if isinstance(config, str):
        cfg = Config.fromfile(config)
    else:
        cfg = copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    semantic = is_semantic_config(cfg)
    init_default_scope('mmseg' if semantic else 'mmdet')
    if semantic:
        from mmseg.registry import MODELS
    else:
        from mmdet.registry import MODELS
    for part in ('backbone', 'neck'):
        if isinstance(cfg.model.get(part), dict):
            cfg.model[part].pop('init_cfg', None)
    cfg.model.pop('pretrained', None)
    cfg.model.train_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    meta = {}
    if checkpoint is not None:
        register_checkpoint_safe_globals()
        meta = load_checkpoint(
            model, checkpoint, map_location='cpu').get('meta', {}) or {}
    model.dataset_meta = checkpoint_dataset_meta(meta, cfg, checkpoint)
    model.cfg = cfg
    return model.to(device).eval()
