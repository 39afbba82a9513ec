"""The PointRend mask branch's settings: the keys it reads from
``train_cfg.rcnn`` (each stage's in a cascade) and ``test_cfg.rcnn`` beside
mmdet's own, their defaults, and the check that reports any other key as a
likely typo."""
from typing import List, Optional, Sequence

from mmengine.config import ConfigDict

from ..checks import check_keys

TRAIN_KEYS = {
    'assigner', 'sampler', 'pos_weight', 'debug', 'mask_size',
    'soft_mask_target', 'num_points', 'oversample_ratio',
    'importance_sample_ratio', 'point_sampling', 'point_labels',
    'mask_on_refined_boxes'
}
TEST_KEYS = {
    'score_thr', 'nms', 'max_per_img', 'mask_thr_binary', 'subdivision_steps',
    'subdivision_num_points', 'scale_factor', 'chunk_memory_mb',
    'adaptive_resolution', 'drop_empty_boxes'
}
TRAIN_DEFAULTS = dict(
    num_points=14 * 14,
    oversample_ratio=3,
    importance_sample_ratio=0.75,
    point_sampling='importance',
    point_labels='bilinear',
    mask_on_refined_boxes=False)
TEST_DEFAULTS = dict(
    subdivision_steps=5,
    subdivision_num_points=28 * 28,
    scale_factor=2,
    mask_thr_binary=0.5,
    chunk_memory_mb=None,
    adaptive_resolution=False,
    drop_empty_boxes=False)

#: the point loss by default: mean sigmoid cross-entropy
LOSS_POINT = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)


def with_defaults(cfg: Optional[dict], known: set, defaults: dict,
                  where: str) -> Optional[dict]:
    """``cfg`` (named ``where`` in messages) checked against the ``known``
    keys, with ``defaults``."""
    if cfg is None:
        return None
    check_keys(cfg, known, where)
    merged = ConfigDict(defaults)
    merged.update(cfg)
    return merged


def train_cfg_with_defaults(cfg: Optional[dict],
                            where: str = 'train_cfg.rcnn') -> Optional[dict]:
    """A ``train_cfg.rcnn`` (one stage's in a cascade) checked for unknown
    keys, with :data:`TRAIN_DEFAULTS`."""
    return with_defaults(cfg, TRAIN_KEYS, TRAIN_DEFAULTS, where)


def test_cfg_with_defaults(cfg: Optional[dict]) -> Optional[dict]:
    """``test_cfg.rcnn`` checked for unknown keys, with
    :data:`TEST_DEFAULTS`."""
    return with_defaults(cfg, TEST_KEYS, TEST_DEFAULTS, 'test_cfg.rcnn')


def stage_train_cfgs(train_cfg, num_stages: Optional[int],
                     overrides: Optional[dict], host: str):
    """The host's ``train_cfg.rcnn`` with defaults: one config (a
    single-stage host, ``num_stages`` None) or a list of ``num_stages``
    (a cascade's), each with ``overrides`` laid over it (they win over the
    stage's own keys: ``stage_train_cfg``, so that a cascade host's stage
    list stays as it is)."""
    check_keys(overrides, TRAIN_KEYS, f'{host}.stage_train_cfg')
    if train_cfg is None:
        return None
    if num_stages is None:
        return train_cfg_with_defaults(dict(train_cfg, **(overrides or {})))
    if not isinstance(train_cfg, (list, tuple)) or \
            len(train_cfg) != num_stages:
        raise ValueError(
            f'{host} needs train_cfg.rcnn as a list of {num_stages} stage '
            "configs (the cascade host's), got "
            f'{type(train_cfg).__name__}')
    return [
        train_cfg_with_defaults(
            dict(cfg, **(overrides or {})), f'train_cfg.rcnn[{i}]')
        for i, cfg in enumerate(train_cfg)
    ]


def box_head_num_classes(bbox_head) -> Optional[int]:
    """``num_classes`` of the box head config (or a cascade's list of
    them, which must agree); None if none states it."""
    heads: Sequence = bbox_head if isinstance(bbox_head,
                                              (list, tuple)) else [bbox_head]
    counts = {h.get('num_classes') for h in heads if h is not None}
    counts.discard(None)
    if len(counts) > 1:
        raise ValueError("num_classes must agree across the cascade's box "
                         f'heads, got {sorted(counts)}')
    return counts.pop() if counts else None


def per_stage(cfg, num_stages: Optional[int], what: str) -> List:
    """A module config given once or per stage, as a list of
    ``num_stages or 1`` (mmdet's cascade rule: one config serves every
    stage)."""
    count = num_stages or 1
    if not isinstance(cfg, (list, tuple)):
        return [cfg] * count
    if len(cfg) != count:
        raise ValueError(f'{what} lists {len(cfg)} configs for {count} '
                         'stage(s)')
    return list(cfg)
