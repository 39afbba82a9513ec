"""PointRend on Cascade Mask R-CNN and HTC: the shipped configs train through
mmengine's Runner on generated data and infer refined 224x224 masks; the
stages' coarse predictions merge as mmdet's cascade merges masks; bad
settings are errors naming the key."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import DEMO_BASE_CFG, REPO, semantic_maps
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.hooks import Hook

HOSTS = 'configs/point_rend_hosts/'
CASCADE = HOSTS + 'point-rend_cascade-mask-rcnn_r50_fpn_1x_coco.py'
HTC = HOSTS + 'point-rend_htc_r50_fpn_1x_coco.py'


class _RecordLosses(Hook):

    def __init__(self):
        self.losses = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.losses.append({k: float(v) for k, v in outputs.items()})


def _small_runner_cfg(path: str, data_root: str, work_dir: str) -> Config:
    """The shipped config as users run it, on the generated shapes: small
    images, 2 iterations, no pretrained download, no evaluation."""
    cfg = Config.fromfile(osp.join(REPO, path))
    cfg.model.backbone.init_cfg = None
    semantic = cfg.model.roi_head.get('semantic_head') is not None
    # the demo's pipeline (160x160 shapes resized to 128-192), with HTC's
    # semantic maps
    pipeline = Config.fromfile(DEMO_BASE_CFG).train_pipeline
    pipeline[1].with_seg = semantic
    prefix = dict(img='train/')
    if semantic:
        prefix['seg'] = semantic_maps(data_root, 'train')
    cfg.train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_sampler=dict(type='AspectRatioBatchSampler'),
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            metainfo=dict(classes=('star', 'ring', 'glyph', 'polygon')),
            ann_file='train.json',
            data_prefix=prefix,
            filter_cfg=dict(filter_empty_gt=True),
            pipeline=pipeline))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.param_scheduler = []
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.work_dir = work_dir
    return cfg


@pytest.mark.e2e
@pytest.mark.parametrize('path', [CASCADE, HTC])
def test_shipped_cascade_trains_and_refines_224(path, shapes_data, tmp_path):
    from mmengine.runner import Runner
    cfg = _small_runner_cfg(path, shapes_data, str(tmp_path))
    runner = Runner.from_cfg(cfg)  # mmdet's tools/train.py
    record = _RecordLosses()
    runner.register_hook(record)
    runner.train()
    assert len(record.losses) == 2
    for losses in record.losses:
        for stage in range(3):
            for name in ('loss_mask', 'loss_point', 'loss_cls'):
                assert np.isfinite(losses[f's{stage}.{name}'])
        if path == HTC:
            assert np.isfinite(losses['loss_semantic_seg'])
    assert osp.isfile(osp.join(str(tmp_path), 'iter_2.pth'))

    model = runner.model.eval()
    head = model.roi_head
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=1,
        image_shapes=[(3, 128, 160)],
        num_items=[3],
        num_classes=4,
        with_mask=True)
    with torch.no_grad():
        data = model.data_preprocessor(packed, False)
        x = model.extract_feat(data['inputs'])
        semantic = head.semantic_head(x)[1] if path == HTC else None
        rois = torch.tensor([[0, 10., 12., 90., 70.],
                             [0, 40., 30., 150., 120.]])
        labels = torch.tensor([1, 3])
        refined = head.refine_masks(x, rois, labels, semantic_feat=semantic)
        assert refined.shape == (2, 1, 224, 224)
        # the merged coarse prediction is the stages' mean probability
        stages = [
            head.stage_coarse_predictions(s, x, rois, semantic)[1]
            for s in range(3)
        ]
        merged = head.coarse_predictions(x, rois, semantic)[1]
        mean = torch.stack([s.sigmoid() for s in stages]).mean(0)
        assert torch.allclose(merged.sigmoid(), mean, atol=1e-5)
        # subdivision replaced points: not the merged coarse upsampled
        rows = torch.arange(2)
        upsampled = F.interpolate(
            merged[rows, labels][:, None],
            size=224,
            mode='bilinear',
            align_corners=False)
        assert not torch.allclose(refined, upsampled, atol=1e-4)
        results = model(**data, mode='predict')
    masks = results[0].pred_instances.masks
    assert masks.shape[1:] == (128, 160)
    assert len(masks) == len(results[0].pred_instances.bboxes)


def _cascade_cfg(**overrides):
    cfg = Config.fromfile(osp.join(REPO, CASCADE)).model
    cfg.roi_head.update(
        train_cfg=cfg.train_cfg.rcnn, test_cfg=cfg.test_cfg.rcnn)
    cfg.roi_head.update(overrides)
    return cfg.roi_head


def test_cascade_head_keys_and_settings():
    head = MODELS.build(_cascade_cfg())
    keys = set(head.state_dict())
    # one point head under the standard head's key, a coarse head per stage
    assert any(k.startswith('point_head.') for k in keys)
    assert {k.split('.')[1]
            for k in keys if k.startswith('mask_head.')} == {'0', '1', '2'}
    assert not any(k.startswith('point_rend') for k in keys)
    # the block's stage_train_cfg over the host's stages; their own kept
    assert [c.mask_size for c in head.train_cfg] == [7, 7, 7]
    assert [c.assigner.pos_iou_thr for c in head.train_cfg] == [0.5, 0.6, 0.7]
    assert head.train_cfg[0].point_sampling == 'importance'


def test_cascade_head_errors_name_the_setting():
    with pytest.raises(ValueError, match=r'train_cfg.rcnn\[0\].mask_size=28'):
        MODELS.build(_cascade_cfg(stage_train_cfg=None))
    with pytest.raises(KeyError, match='num_points'):
        MODELS.build(_cascade_cfg(stage_train_cfg=dict(num_point=10)))
    cfg = _cascade_cfg()
    cfg.train_cfg = cfg.train_cfg[0]
    with pytest.raises(ValueError, match='list of 3 stage configs'):
        MODELS.build(cfg)
    htc = Config.fromfile(osp.join(REPO, HTC)).model.roi_head
    htc.mask_info_flow = True
    with pytest.raises(ValueError, match='mask_info_flow=False'):
        MODELS.build(htc)


def test_merge_stages():
    from mmpointrend.models.mask_heads import PointRendCoarseMaskHead
    from mmpointrend.models.mask_heads.coarse_mask_head import \
        PointRendParameterHead
    coarse = PointRendCoarseMaskHead(num_classes=3, in_channels=8)
    logits = [torch.randn(4, 3, 7, 7) * 3 for _ in range(3)]
    merged = coarse.merge_stages(logits)
    expected = (logits[0].sigmoid() + logits[1].sigmoid() +
                logits[2].sigmoid()) / 3
    assert torch.allclose(merged.sigmoid(), expected, atol=1e-6)
    assert coarse.merge_stages(logits[:1]) is logits[0]
    params = PointRendParameterHead(num_params=5, num_classes=3, in_channels=8)
    assert params.merge_stages(logits) is logits[-1]


def test_onnx_export_refuses_a_cascade_naming_it():
    from types import SimpleNamespace

    from mmpointrend.deploy.graph_parts import pointrend_roi_head
    head = MODELS.build(_cascade_cfg())
    with pytest.raises(NotImplementedError, match='PointRendCascadeRoIHead'):
        pointrend_roi_head(SimpleNamespace(roi_head=head))
