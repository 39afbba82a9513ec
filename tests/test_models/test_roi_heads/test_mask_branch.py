"""PointRendMaskBranch on its own: the settings it owns, the strategies it
builds, the coarse supervision it chooses, the points it plans and its one
inference entry on no boxes."""
import pytest
import torch
from helpers import build_roi_head, det_sample, feats, small_roi_head_cfg
from mmdet.registry import MODELS
from mmengine.config import ConfigDict

from mmpointrend.models.point_samplers import (AnnotatedPointSampler,
                                               MaskPointSampler,
                                               TrainingPointStrategy)
from mmpointrend.models.roi_heads import PointRendMaskBranch
from mmpointrend.models.roi_heads.point_rend_mask_branch import \
    build_point_strategy


def test_the_branch_owns_modules_and_settings():
    head = build_roi_head()
    branch = head.mask_branch
    assert isinstance(branch, PointRendMaskBranch)
    stage = branch.stages[0]
    assert stage.mask_head is head.mask_head
    assert stage.extractor is head.mask_roi_extractor
    assert branch.point_head is head.point_head
    assert branch.loss_point is head.loss_point
    assert isinstance(stage.point_strategy, MaskPointSampler)
    # settings with defaults, the same objects the host holds
    assert stage.train_cfg is head.train_cfg and branch.test_cfg is \
        head.test_cfg
    assert stage.train_cfg.point_labels == 'bilinear'
    assert branch.test_cfg.chunk_memory_mb is None
    keys = set(head.state_dict())
    assert any(k.startswith('point_head.') for k in keys)
    assert any(k.startswith('mask_head.') for k in keys)
    assert not any(k.startswith('mask_branch') for k in keys)


def test_num_classes_come_from_the_box_head():
    cfg = small_roi_head_cfg(num_classes=3)
    del cfg.mask_head['num_classes'], cfg.point_head['num_classes']
    head = MODELS.build(cfg)
    assert head.mask_head.num_classes == head.point_head.num_classes == 3


def test_settings_errors_name_the_key():
    cfg = small_roi_head_cfg()
    with pytest.raises(KeyError, match="'num_points'"):
        MODELS.build(dict(cfg, train_cfg=dict(cfg.train_cfg, num_point=4)))
    with pytest.raises(KeyError, match="'subdivision_steps'"):
        MODELS.build(dict(cfg, test_cfg=dict(cfg.test_cfg, subdivision=4)))
    with pytest.raises(ValueError, match='needs mask_roi_extractor'):
        MODELS.build(dict(cfg, mask_head=None))


def test_stage_train_cfg_wins_over_the_stage():
    cfg = small_roi_head_cfg()
    head = MODELS.build(
        dict(cfg, stage_train_cfg=dict(point_sampling='grid', num_points=64)))
    strategy = head.mask_branch.stages[0].point_strategy
    assert strategy.mode == 'grid' and strategy.num_points == 64


def test_strategies_by_name_or_config():
    base = ConfigDict(
        num_points=16,
        oversample_ratio=3,
        importance_sample_ratio=0.75,
        point_labels='nearest')
    grid = build_point_strategy(ConfigDict(base, point_sampling='grid'))
    assert isinstance(grid, MaskPointSampler) and grid.point_labels == \
        'nearest' and not grid.needs_coarse_mask
    annotated = build_point_strategy(
        ConfigDict(base, point_sampling='annotated'))
    assert isinstance(annotated, AnnotatedPointSampler)
    assert not annotated.gives_mask_targets
    built = build_point_strategy(
        ConfigDict(
            base, point_sampling=dict(type='MaskPointSampler',
                                      mode='uniform')))
    assert isinstance(built, TrainingPointStrategy) and built.mode == 'uniform'
    with pytest.raises(TypeError, match='TrainingPointStrategy'):
        build_point_strategy(
            ConfigDict(
                base,
                point_sampling=dict(
                    type='RandomSampler', num=4, pos_fraction=0.5)))


def test_points_without_masks_supervise_the_coarse_head_at_the_points():
    """A strategy that gives no mask targets: the branch scores the coarse
    head at the points (PointSup), never asks for mask targets."""
    head = build_roi_head()

    class NoMasks(TrainingPointStrategy):

        def sample(self, boxes, uncertainty):
            from mmpointrend.models.point_samplers import TrainingPoints
            num = boxes.rois.shape[0]
            return TrainingPoints(torch.rand(num, 9, 2), torch.ones(num, 9))

    head.mask_branch.stages[0].point_strategy = NoMasks()
    sample = det_sample(seed=0)
    out = head.loss(feats(batch=1), [sample.proposals], [sample])
    assert out['loss_mask'] > 0 and out['loss_point'] > 0


def test_planned_points_follow_the_coarse_head():
    head = build_roi_head()
    # 7x7 -> 224: the 14x14 step only upsamples, four steps of 784 points
    assert head.mask_branch.num_refined_points(3) == 3 * 4 * 784
    implicit = head.mask_branch
    implicit.test_cfg.subdivision_steps = 3

    class StartsAt28:

        def initial_side(self, num_points):
            return 28

    implicit.stages[-1].mask_head = StartsAt28()
    # 28 -> 56 -> 112 -> 224, each step 784 points
    assert implicit.num_refined_points(2) == 2 * 3 * 784


def test_refine_masks_of_no_boxes():
    head = build_roi_head().eval()
    with torch.no_grad():
        out = head.refine_masks(
            feats(batch=1), torch.zeros(0, 5),
            torch.zeros(0, dtype=torch.long))
    assert out.shape == (0, 1, 224, 224)


def test_chunk_size_follows_the_budget():
    head = build_roi_head()
    branch = head.mask_branch
    x = feats(batch=1)
    rois = torch.tensor([[0., 4, 4, 40, 40]])
    features, _ = head.coarse_predictions(x, rois)
    branch.test_cfg.chunk_memory_mb = 1
    small = branch.chunk_size(features, rois.device)
    branch.test_cfg.chunk_memory_mb = 8
    assert branch.chunk_size(features, rois.device) == pytest.approx(
        8 * small, abs=8)
