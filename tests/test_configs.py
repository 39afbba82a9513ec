"""Every config under configs/ loads, builds its model on CPU and runs one
loss and one predict pass on a small generated batch (the image is shrunk,
the architecture is not)."""
import glob
import os.path as osp

import pytest
import torch
from helpers import REPO
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs/*/*.py'))
    if '/_base_/' not in p)

# each config's model, loaded once for the parametrisations below
MODEL_CFGS = {c: Config.fromfile(osp.join(REPO, c)).model for c in CONFIGS}
INSTANCE = [c for c in CONFIGS if 'roi_head' in MODEL_CFGS[c]]
# one-stage hosts (RTMDet-Ins, Mask2Former): tests/test_dense_configs.py
# trains them
DENSE = [
    c for c in CONFIGS if c not in INSTANCE and (
        'bbox_head' in MODEL_CFGS[c] or 'panoptic_head' in MODEL_CFGS[c])
]
SEMANTIC = [c for c in CONFIGS if c not in INSTANCE + DENSE]


def _family(config: str) -> tuple:
    """What makes a config's training step differ from another's: its
    folder and the types of its heads and training-point strategy."""
    model = MODEL_CFGS[config]
    if 'roi_head' not in model:
        heads = model.decode_head
        heads = heads if isinstance(heads, list) else [heads]
        return (osp.dirname(config), model.type, tuple(h.type for h in heads))
    rcnn = model.train_cfg.rcnn
    mask_head = model.roi_head.mask_head
    mask_head = mask_head[0] if isinstance(mask_head, list) else mask_head
    sampling = None if isinstance(rcnn, list) else \
        str(rcnn.get('point_sampling'))
    return (osp.dirname(config), model.roi_head.type, mask_head.type, sampling,
            'semantic_head' in model.roi_head)


def _cost(config: str) -> tuple:
    """Deeper backbones last: a family's fast-tier step takes its lightest
    config."""
    name = osp.basename(config)
    return ('x101' in name, 'r101' in name, 'swin' in name, config)


def _by_family(configs):
    """The lightest config of each family in the fast tier, every other one
    in the e2e tier (all configs are built in the fast tier,
    test_every_config_builds)."""
    seen, params = set(), []
    for config in sorted(configs, key=_cost):
        family = _family(config)
        marks = [pytest.mark.e2e] if family in seen else []
        seen.add(family)
        params.append(pytest.param(config, marks=marks))
    return params


@pytest.mark.parametrize('config', CONFIGS)
def test_every_config_builds(config):
    """Each config builds its model (no weights loaded, no download)."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS as SEG_MODELS
    scope = 'mmseg' if config in SEMANTIC else 'mmdet'
    with DefaultScope.overwrite_default_scope(scope):
        registry = MODELS if scope == 'mmdet' else SEG_MODELS
        model = registry.build(MODEL_CFGS[config])
    assert sum(p.numel() for p in model.parameters()) > 0


def test_instance_configs_found():
    names = {osp.basename(c) for c in INSTANCE}
    for expected in [
            'point-rend_r50-caffe_fpn_ms-1x_coco.py',
            'point-rend_r50-caffe_fpn_ms-3x_coco.py',
            'point-rend_r101-caffe_fpn_ms-1x_coco.py',
            'point-rend_r101-caffe_fpn_ms-3x_coco.py',
            'point-rend_x101-32x8d_fpn_ms-1x_coco.py',
            'point-rend_x101-32x8d_fpn_ms-3x_coco.py',
            'point-rend_r50-caffe_fpn_ms-24k_cityscapes.py'
    ]:
        assert expected in names
        # every PointRend config has its 4x conv baseline
        assert any(
            n.startswith('mask-rcnn')
            and n.split('_', 1)[1].replace('-iter', '').replace(
                'ms-poly', 'ms') == expected.split('_', 1)[1]
            for n in names), expected


def test_semantic_configs_found():
    names = {osp.basename(c) for c in SEMANTIC}
    for expected in [
            'point-rend_fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py',
            'point-rend_fpn_r101-p3p5_8xb4-65k_cityscapes-512x1024.py',
            'point-rend_deeplabv3_r101-d16_8xb2-90k_cityscapes-768x768.py',
            'fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py',
            'fpn_r101-p3p5_8xb4-65k_cityscapes-512x1024.py',
            'deeplabv3_r101-d16_8xb2-90k_cityscapes-768x768.py',
            'deeplabv3_r101-d8_8xb2-90k_cityscapes-768x768.py',
            'point-rend_fpn_r101-p2p5_4xb4-160k_ade20k-512x512.py',
            'point-rend_fpn_r101-p3p5_4xb4-160k_ade20k-512x512.py',
    ]:
        assert expected in names, expected


@pytest.mark.parametrize('config', _by_family(SEMANTIC))
def test_semantic_config_builds_and_runs(config):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import DefaultScope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS as SEG_MODELS
    from mmseg.structures import SegDataSample

    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.default_scope == 'mmseg'
    cfg.model.data_preprocessor.size = None  # no padding to the crop size
    cfg.model.data_preprocessor.size_divisor = 32
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = revert_sync_batchnorm(SEG_MODELS.build(cfg.model))
        heads = cfg.model.decode_head
        heads = heads if isinstance(heads, list) else [heads]
        num_classes = heads[-1].num_classes
        assert all(h.num_classes == num_classes for h in heads)
        g = torch.Generator().manual_seed(0)
        packed = dict(inputs=[], data_samples=[])
        for h, w in ((64, 128), (64, 128)):
            packed['inputs'].append(
                torch.randint(
                    0, 255, (3, h, w), generator=g, dtype=torch.uint8))
            s = SegDataSample()
            label = torch.randint(0, num_classes, (1, h, w), generator=g)
            label[:, :8] = 255  # an ignored band
            s.gt_sem_seg = PixelData(data=label)
            s.set_metainfo(
                dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
            packed['data_samples'].append(s)
        model.train()
        data = model.data_preprocessor(packed, True)
        losses = model(**data, mode='loss')
        if cfg.model.type == 'CascadeEncoderDecoder':
            assert 'decode_1.loss_point' in losses
        total = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(total)
        total.backward()
        model.eval()
        with torch.no_grad():
            results = model(
                **model.data_preprocessor(packed, False), mode='predict')
    for res, (h, w) in zip(results, ((64, 128), (64, 128))):
        assert res.pred_sem_seg.data.shape == (1, h, w)
        assert res.seg_logits.data.shape == (num_classes, h, w)


@pytest.mark.parametrize('config', _by_family(INSTANCE))
def test_config_builds_and_runs(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    if cfg.get('custom_imports'):
        assert cfg.custom_imports.imports == ['mmpointrend']
    model = MODELS.build(cfg.model)  # no init_weights: no download
    roi_head = cfg.model.roi_head
    box_heads = roi_head.bbox_head
    box_heads = box_heads if isinstance(box_heads, list) else [box_heads]
    num_classes = box_heads[-1].num_classes
    semantic = roi_head.get('semantic_head') is not None  # HTC
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 128, 160), (3, 96, 128)],
        num_items=[3, 0],
        num_classes=num_classes,
        with_mask=True,
        with_semantic=semantic)
    rcnn = cfg.model.train_cfg.rcnn
    if not isinstance(rcnn, list) and \
            rcnn.get('point_sampling') == 'annotated':
        for sample in packed['data_samples']:  # PointSup: points, no masks
            gt = sample.gt_instances
            del gt.masks
            gt.point_coords = torch.rand(len(gt), 10, 2)
            gt.point_labels = torch.randint(0, 2, (len(gt), 10))
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    implicit = roi_head.mask_head.type == 'PointRendParameterHead'
    # Implicit PointRend has no coarse mask: an L2 term on its parameters
    mask_loss = 'loss_params_l2' if implicit else 'loss_mask'
    if isinstance(rcnn, list):  # a cascade: every stage's losses
        for stage in range(len(rcnn)):
            assert f's{stage}.{mask_loss}' in losses
            if roi_head.type.startswith('PointRend'):
                assert f's{stage}.loss_point' in losses
                # the stage's coarse head trained on 7x7 targets
                assert model.roi_head.train_cfg[stage].mask_size == 7
    else:
        assert mask_loss in losses
        if roi_head.type == 'PointRendInstanceRoIHead':
            assert 'loss_point' in losses
            # the coarse head's 7x7 targets (the implicit head needs none)
            assert implicit or rcnn.mask_size == 7
    total = sum(v.sum() for k, v in losses.items()
                if 'loss' in k and isinstance(v, torch.Tensor))
    assert torch.isfinite(total)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(packed, False)
        results = model(**data, mode='predict')
    assert len(results) == 2
    for res, sample in zip(results, packed['data_samples']):
        masks = res.pred_instances.masks
        assert masks.shape[1:] == sample.ori_shape
        assert len(masks) == len(res.pred_instances.bboxes)


def test_model_index_lists_every_coco_and_cityscapes_config():
    import yaml
    index = yaml.safe_load(open(osp.join(REPO, 'model-index.yml')))
    listed = set()
    for meta in index['Import']:
        for model in yaml.safe_load(open(osp.join(REPO, meta)))['Models']:
            assert osp.exists(osp.join(REPO, model['Config']))
            assert osp.basename(model['Config']) == model['Name'] + '.py'
            listed.add(model['Config'])
    expected = {c for c in CONFIGS if not c.startswith('configs/demo/')}
    assert listed == expected, sorted(expected - listed)


SEMANTIC_PAIRS = {  # PointRend config: its baseline
    'configs/point_rend_seg/point-rend_fpn_r101-p2p5_8xb4-65k_cityscapes-'
    '512x1024.py':
    'configs/sem_fpn/fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py',
    'configs/point_rend_seg/point-rend_fpn_r101-p3p5_8xb4-65k_cityscapes-'
    '512x1024.py':
    'configs/sem_fpn/fpn_r101-p3p5_8xb4-65k_cityscapes-512x1024.py',
    'configs/point_rend_seg/point-rend_deeplabv3_r101-d16_8xb2-90k_'
    'cityscapes-768x768.py':
    'configs/deeplabv3/deeplabv3_r101-d16_8xb2-90k_cityscapes-768x768.py',
    'configs/point_rend_seg/point-rend_fpn_r101-p2p5_4xb4-160k_ade20k-'
    '512x512.py':
    'configs/sem_fpn/fpn_r101-p2p5_4xb4-160k_ade20k-512x512.py',
    'configs/point_rend_seg/point-rend_fpn_r101-p3p5_4xb4-160k_ade20k-'
    '512x512.py':
    'configs/sem_fpn/fpn_r101-p3p5_4xb4-160k_ade20k-512x512.py',
}
# what a PointRend config may add or change beside its head
_PR_MODEL_KEYS = {
    'type', 'num_stages', 'decode_head', 'roi_head', 'train_cfg', 'test_cfg'
}
_SAME = ('train_dataloader', 'val_dataloader', 'test_dataloader',
         'param_scheduler', 'optim_wrapper', 'train_cfg', 'auto_scale_lr',
         'test_evaluator', 'load_from')


def _unscoped(node):
    """Drop the ``_scope_`` marks that ``mmseg::`` inheritance adds."""
    if isinstance(node, dict):
        return {k: _unscoped(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(_unscoped(v) for v in node)
    return node


def _load(path):
    cfg = Config.fromfile(osp.join(REPO, path))
    return Config(_unscoped(cfg.to_dict()))


def _instance_pairs():
    pairs = {}
    for c in INSTANCE:
        name = osp.basename(c)
        # point-supervised and fine-tuning configs differ in their
        # training data and schedule on purpose
        if c.startswith('configs/point_rend/') and 'd2-exact' not in name \
                and 'point-sup' not in name and 'finetune' not in name:
            base = 'mask-rcnn_' + name.split('_', 1)[1]
            if 'cityscapes' not in base:
                base = base.replace('_ms-', '_ms-poly-').replace(
                    '-1x_', '-1x-iter_').replace('-3x_', '-3x-iter_')
            pairs[c] = 'configs/mask_rcnn/' + base
    return pairs


@pytest.mark.parametrize('pair',
                         sorted(SEMANTIC_PAIRS.items()) +
                         sorted(_instance_pairs().items()))
def test_pointrend_and_baseline_differ_only_in_the_head(pair):
    """Same backbone, neck, data, schedule and evaluation; the baseline's
    head is the PointRend model's coarse head (semantic) or its box head
    (instance)."""
    pointrend, baseline = (_load(p) for p in pair)
    # lr multipliers name the coarse head as decode_head.0 in a cascade
    keys = pointrend.optim_wrapper.get('paramwise_cfg',
                                       {}).get('custom_keys', {})
    if 'decode_head.0' in keys:
        keys['decode_head'] = keys.pop('decode_head.0')
    for key in _SAME:
        assert pointrend.get(key) == baseline.get(key), key
    pm, bm = pointrend.model, baseline.model
    assert {k: v for k, v in pm.items() if k not in _PR_MODEL_KEYS} == \
        {k: v for k, v in bm.items() if k not in _PR_MODEL_KEYS}
    if 'decode_head' in bm:
        assert pm.decode_head[0] == bm.decode_head
        assert pm.get('auxiliary_head') == bm.get('auxiliary_head')
        assert pm.test_cfg.mode == bm.test_cfg.mode
    else:
        for key in ('bbox_roi_extractor', 'bbox_head'):
            assert pm.roi_head[key] == bm.roi_head[key], key
        for stage in ('rpn', 'rpn_proposal'):
            assert pm.train_cfg[stage] == bm.train_cfg[stage]
        assert pm.test_cfg.rpn == bm.test_cfg.rpn
        for key in ('assigner', 'sampler', 'pos_weight'):
            assert pm.train_cfg.rcnn[key] == bm.train_cfg.rcnn[key], key
        for key in ('score_thr', 'nms', 'max_per_img', 'mask_thr_binary'):
            assert pm.test_cfg.rcnn[key] == bm.test_cfg.rcnn[key], key


def _detectron2_lr(t,
                   base_lr,
                   max_iter,
                   steps=(),
                   poly=None,
                   gamma=0.1,
                   warmup_iters=1000,
                   warmup_factor=0.001):
    """detectron2's WarmupMultiStepLR / WarmupPolyLR at iteration ``t``
    (solver/lr_scheduler.py: linear warm-up factor times the schedule)."""
    alpha = min(t / warmup_iters, 1.0)
    lr = base_lr * (warmup_factor * (1 - alpha) + alpha)
    if poly is not None:
        return lr * (1 - t / max_iter)**poly
    return lr * gamma**sum(t >= s for s in steps)


LR_SCHEDULES = {  # config: detectron2's / the paper's schedule
    'configs/mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py':
    dict(base_lr=0.02, max_iter=90000, steps=(60000, 80000)),
    'configs/mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-poly-3x-iter_coco.py':
    dict(base_lr=0.02, max_iter=270000, steps=(210000, 250000)),
    'configs/mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-24k_cityscapes.py':
    dict(base_lr=0.01, max_iter=24000, steps=(18000, )),
    'configs/sem_fpn/fpn_r101-p2p5_8xb4-65k_cityscapes-512x1024.py':
    dict(base_lr=0.01, max_iter=65000, steps=(40000, 55000)),
    'configs/deeplabv3/deeplabv3_r101-d16_8xb2-90k_cityscapes-768x768.py':
    dict(base_lr=0.01, max_iter=90000, poly=0.9),
}


@pytest.mark.parametrize('config', sorted(LR_SCHEDULES))
def test_lr_schedule_is_detectron2s(config):
    """The learning rate the config's schedulers give at every 250th
    iteration equals detectron2's warm-up x step / poly schedule."""
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = Config.fromfile(osp.join(REPO, config))
    ref = LR_SCHEDULES[config]
    assert cfg.optim_wrapper.optimizer.lr == ref['base_lr']
    assert cfg.train_cfg.max_iters == ref['max_iter']
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                                lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
        for s in cfg.param_scheduler
    ]
    for t in range(ref['max_iter']):
        if t % 250 == 0 or t in (1, 999, 1000, 1001):
            # mmengine's LinearLR / PolyLR end one iteration before
            # detectron2's (end - begin - 1 steps): 0.1% apart at most
            assert optimizer.param_groups[0]['lr'] == pytest.approx(
                _detectron2_lr(t, **ref), rel=1.5e-3, abs=1e-12), t
        for s in schedulers:
            s.step()


COCO_TRAIN_CONFIGS = [
    c for c in INSTANCE if c.endswith('_coco.py') and 'd2-exact' not in c
]


@pytest.mark.parametrize('config', COCO_TRAIN_CONFIGS)
def test_coco_train_pipeline_keeps_every_instance(config, shapes_data):
    """Each COCO config's own train dataset and pipeline on a COCO json
    (polygons, the format of COCO's own files): every non-crowd instance
    of an image reaches the model."""
    import json

    from helpers import semantic_maps
    from mmdet.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO, config))
    dataset = cfg.train_dataloader.dataset
    while dataset.type == 'RepeatDataset':  # mmdet's 3x schedules
        dataset = dataset.dataset
    ann = json.load(open(shapes_data + 'train.json'))
    prefix = dict(img='train/')
    if any(t.get('with_seg') for t in dataset.pipeline):  # HTC
        prefix['seg'] = semantic_maps(shapes_data, 'train')
    # the shapes' images under COCO's 80 class names (shape ids 1-4)
    dataset.update(
        data_root=shapes_data,
        ann_file='train.json',
        data_prefix=prefix,
        metainfo=dict(classes=[c['name'] for c in ann['categories']]))
    data = DATASETS.build(dataset)
    counts = {}
    for a in ann['annotations']:
        counts[a['image_id']] = counts.get(a['image_id'], 0) + 1
    for i in range(3):
        sample = data[i]['data_samples']
        expected = counts[sample.img_id]
        assert len(sample.gt_instances) == expected
        assert len(sample.gt_instances.masks) == expected
        assert len(sample.ignored_instances) == 0
        if 'seg' in prefix:
            assert sample.gt_sem_seg.sem_seg.shape[-2:] == sample.img_shape


@pytest.mark.parametrize(
    'config',
    [c for c in INSTANCE if 'point-sup' in c and 'configs/demo' not in c])
def test_point_sup_configs_differ_from_theirs_only_in_training_data(config):
    """The point-supervised config is its mask-supervised twin with a train
    dataset of point annotations and the annotated-points strategy (same
    model otherwise, schedule, test)."""
    ours = _load(config)
    twin = _load(config.replace('_point-sup', ''))
    assert ours.model.train_cfg.rcnn.pop('point_sampling') == 'annotated'
    twin.model.train_cfg.rcnn.pop('point_sampling', None)
    for key in ('model', 'param_scheduler', 'optim_wrapper', 'train_cfg',
                'test_dataloader', 'test_evaluator'):
        assert ours.get(key) == twin.get(key), key
    dataset = ours.train_dataloader.dataset
    assert dataset.type == 'PointSupCocoDataset'
    assert 'without_masks' in dataset.ann_file
    assert [t['type'] for t in dataset.pipeline][-1] == 'PackPointSupInputs'
