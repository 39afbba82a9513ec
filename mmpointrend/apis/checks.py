"""Checks that turn bad data or config into clear errors before training.

``tools/train.py`` and ``tools/test.py`` run :func:`check_config` before
building the Runner, so that a missing or malformed annotation file, class
names the annotation file does not have, or heads whose ``num_classes``
disagree with the dataset fail at once with a message naming the file or
key, instead of deep inside a data worker or a loss.
"""
import json
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config, ConfigDict

_SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


class DataConfigError(ValueError):
    """Bad dataset files or dataset / model settings."""


def _datasets(cfg: Config, splits=_SPLITS) -> Iterator[Tuple[str, ConfigDict]]:
    """(where, dataset cfg) for every dataset of the dataloaders, unwrapping
    RepeatDataset / ClassBalancedDataset / ConcatDataset wrappers."""
    for split in splits:
        loader = cfg.get(split)
        if not loader or not loader.get('dataset'):
            continue
        stack = [(f'{split}.dataset', loader.dataset)]
        while stack:
            where, ds = stack.pop()
            if 'dataset' in ds:
                stack.append((f'{where}.dataset', ds.dataset))
            elif 'datasets' in ds:
                stack += [(f'{where}.datasets[{i}]', d)
                          for i, d in enumerate(ds.datasets)]
            else:
                yield where, ds


def _dataset_classes(ds: ConfigDict,
                     scope: Optional[str]) -> Optional[List[str]]:
    classes = (ds.get('metainfo') or {}).get('classes')
    if classes is not None:
        return list(classes)
    import importlib
    try:
        registry = importlib.import_module(f'{scope or "mmengine"}.registry')
        cls = registry.DATASETS.get(ds.get('type'))
    except Exception:  # unknown scope / type: the Runner will report it
        cls = None
    classes = getattr(cls, 'METAINFO', {}).get('classes') if cls else None
    return list(classes) if classes else None


def check_annotation_file(path: str,
                          where: str,
                          classes: Optional[List[str]] = None,
                          img_dir: Optional[str] = None) -> None:
    """A COCO-style json file exists, parses, has the classes and (with
    ``img_dir``) every image it lists exists under ``img_dir``.

    Args:
        path (str): The annotation file.
        where (str): The config key it comes from, for the message.
        classes (list[str], optional): Class names the file must have.
        img_dir (str, optional): The folder its ``file_name`` entries are
            relative to (``data_root`` + ``data_prefix.img``); None skips
            the image check.

    Raises:
        DataConfigError: naming the file and what is wrong with it.
    """
    if not osp.isfile(path):
        raise DataConfigError(f'{where}: annotation file not found: {path}')
    if not path.endswith('.json'):
        return
    try:
        with open(path) as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataConfigError(
            f'{where}: {path} is not valid JSON ({e})') from None
    if not isinstance(data, dict):
        raise DataConfigError(f'{where}: {path} must hold a JSON object with '
                              f'"images", "annotations" and "categories", '
                              f'got a {type(data).__name__}')
    missing = [k for k in ('images', 'categories') if k not in data]
    if missing:
        raise DataConfigError(f'{where}: {path} has no {missing} (COCO '
                              'format needs "images", "annotations" and '
                              '"categories")')
    cat_ids = {c.get('id') for c in data['categories']}
    bad = sorted(
        {a.get('category_id')
         for a in data.get('annotations', [])} - cat_ids,
        key=str)
    if bad:
        raise DataConfigError(
            f'{where}: {path} has annotations with category_id {bad[:10]} '
            f'that are not in its "categories" (ids {sorted(cat_ids)[:20]})')
    if img_dir is not None:
        check_image_files(data['images'], img_dir, where, path)
    if classes is not None:
        names = {c.get('name') for c in data['categories']}
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise DataConfigError(
                f'{where}: classes {unknown} of the config are not among the '
                f'categories of {path} ({sorted(names)[:20]}); set '
                'metainfo=dict(classes=...) to the names the file uses')


def check_image_files(images: list, img_dir: str, where: str,
                      path: str) -> None:
    """Every ``file_name`` of a COCO ``images`` list is a file under
    ``img_dir``; else :class:`DataConfigError` with how many are missing and
    the first few (before a model is built, not as a data worker's
    ``FileNotFoundError`` half-way through a run)."""
    names = [str(img.get('file_name', '')) for img in images]
    missing = [n for n in names if not osp.isfile(osp.join(img_dir, n))]
    if missing:
        raise DataConfigError(
            f'{where}: {len(missing)} of the {len(names)} images listed in '
            f'{path} are not under {img_dir or "."}: '
            f'{", ".join(missing[:5])}' +
            (', ...' if len(missing) > 5 else '') +
            ' (check data_root and data_prefix.img)')


def _image_dir(ds: ConfigDict) -> Optional[str]:
    """Where a COCO-style dataset's images are, or None where that cannot
    be checked with the local file system (remote ``backend_args``, URIs,
    datasets without ``data_prefix.img``)."""
    prefix = (ds.get('data_prefix') or {}).get('img')
    root = ds.get('data_root') or ''
    if prefix is None or ds.get('backend_args') or '://' in f'{root}{prefix}':
        return None
    return prefix if osp.isabs(prefix) else osp.join(root, prefix)


def _head_num_classes(model: ConfigDict) -> List[Tuple[str, int]]:
    found = []
    roi = model.get('roi_head') or {}
    for key in ('bbox_head', 'mask_head', 'point_head'):
        head = roi.get(key)
        if isinstance(head, dict) and 'num_classes' in head:
            found.append((f'model.roi_head.{key}', head['num_classes']))
    heads = model.get('decode_head')
    if isinstance(heads, dict):
        heads = [heads]
    for i, head in enumerate(heads or []):
        if 'num_classes' in head:
            found.append((f'model.decode_head[{i}]', head['num_classes']))
    return found


def check_config(cfg: Config, splits=_SPLITS) -> None:
    """Check dataset files and class counts of a full config.

    Args:
        cfg (Config): the config.
        splits (tuple[str]): the dataloaders to check (``tools/test.py``
            checks only ``test_dataloader``: testing a converted model needs
            no training data). Defaults to all three.

    Raises:
        DataConfigError: with the file or key at fault.
    """
    for where, ds in _datasets(cfg, splits):
        classes = _dataset_classes(ds, cfg.get('default_scope'))
        ann_file = ds.get('ann_file')
        if ann_file:
            path = ann_file if osp.isabs(ann_file) else osp.join(
                ds.get('data_root') or '', ann_file)
            check_annotation_file(path, where, classes, _image_dir(ds))
        if classes is None:
            continue
        for key, num in _head_num_classes(cfg.get('model', {})):
            if num != len(classes):
                raise DataConfigError(
                    f'{key}.num_classes={num} but {where} has '
                    f'{len(classes)} classes {tuple(classes)[:10]}')
