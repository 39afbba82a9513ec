"""Point the demo configs at a generated dataset."""
import os.path as osp

from mmengine.config import Config


def use_data_root(cfg: Config, data_root: str) -> Config:
    """Set every dataloader's ``data_root`` to ``data_root`` and every
    evaluator that reads an annotation file to ``data_root/val.json`` (the
    layout :func:`generate_coco_shapes` writes). Returns ``cfg``."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg[key] if isinstance(cfg[key], list) else [cfg[key]]
        for evaluator in evaluators:
            if 'ann_file' in evaluator:
                evaluator.ann_file = osp.join(data_root, 'val.json')
    return cfg
