"""The shipped one-stage PointRend configs (configs/point_rend_dense/:
RTMDet-Ins tiny / s, Mask2Former R50): each trains 2 iterations through
mmengine's Runner on generated shapes
(the architecture as shipped, SyncBN as BN on the CPU, no pretrained
download) and predicts masks of the image's size."""
import glob
import os.path as osp

import pytest
import torch
from helpers import REPO, cpu_model_cfg
from mmengine.config import Config
from mmengine.runner import Runner

DENSE = sorted(glob.glob(osp.join(REPO, 'configs/point_rend_dense/*.py')))
CLASSES = ('star', 'ring', 'glyph', 'polygon')


def dense_cfg(path: str, data_root: str, work_dir: str, iters: int = 2):
    """``path`` on the generated shapes, ``iters`` training iterations."""
    cfg = Config.fromfile(path)
    num = len(CLASSES)
    if 'panoptic_head' in cfg.model:  # Mask2Former: classes in three places
        cfg.model = cpu_model_cfg(cfg.model)
        cfg.model.panoptic_head.num_things_classes = num
        cfg.model.panoptic_head.loss_cls.class_weight = [1.0] * num + [0.1]
        cfg.model.panoptic_fusion_head.num_things_classes = num
        for augment in cfg.model.data_preprocessor.batch_augments or []:
            augment.size = (128, 128)
    else:
        cfg.model = cpu_model_cfg(cfg.model, num)
    cfg.work_dir = work_dir
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(
            type='LoadAnnotations',
            with_bbox=True,
            with_mask=True,
            poly2mask=False),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='Pad', size=(128, 128), pad_val=dict(img=(114, 114, 114))),
        dict(type='PackDetInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='Pad', size=(128, 128), pad_val=dict(img=(114, 114, 114))),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor')),
    ]
    for split, pipeline in (('train', train_pipeline), ('val', test_pipeline)):
        loader = cfg[f'{split}_dataloader']
        loader.batch_size = 2
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.pop('batch_sampler', None)
        loader.dataset = dict(
            type='CocoDataset',
            data_root=data_root,
            metainfo=dict(classes=CLASSES),
            ann_file=f'{split}.json',
            data_prefix=dict(img=f'{split}/'),
            filter_cfg=dict(filter_empty_gt=split == 'train'),
            pipeline=pipeline)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.val_evaluator = cfg.test_evaluator = dict(
        type='CocoMetric',
        ann_file=osp.join(data_root, 'val.json'),
        metric=['bbox', 'segm'])
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=iters, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.randomness = dict(seed=0)
    cfg.env_cfg = dict(dist_cfg=dict(backend='gloo'))
    return cfg


@pytest.mark.e2e
@pytest.mark.parametrize('config', DENSE, ids=osp.basename)
def test_dense_config_trains_and_predicts_image_size_masks(
        config, shapes_data, tmp_path):
    from mmdet.apis import inference_detector
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    runner = Runner.from_cfg(dense_cfg(config, shapes_data, str(tmp_path)))
    head = getattr(runner.model, 'bbox_head', None) or \
        runner.model.panoptic_head
    assert type(head).__name__ in ('PointRendRTMDetInsHead',
                                   'PointRendMask2FormerHead')
    before = {k: v.clone() for k, v in head.point_head.state_dict().items()}
    runner.train()
    after = head.point_head.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    model = runner.model.eval()
    model.cfg = runner.cfg
    if hasattr(head.test_cfg, 'score_thr'):
        head.test_cfg.score_thr = 0.0
    img = sorted(glob.glob(osp.join(shapes_data, 'val', '*')))[0]
    with torch.no_grad():
        inst = inference_detector(model, img).pred_instances
    assert len(inst) > 0
    assert tuple(inst.masks.shape[1:]) == (96, 96)  # the image's size
