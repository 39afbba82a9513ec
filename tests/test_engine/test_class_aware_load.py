"""Fine-tuning into other classes keeps what does not depend on them.

The authors' weights (fixture A: the R50 zoo file; fixture B: the semantic
R101 Cityscapes file, both converted by our converter with their class
names) are loaded through the Runner as users load them (``load_from`` in a
config; mmdet's / mmseg's plain ``Runner.from_cfg`` with the fine-tuning
config's ``custom_hooks``, and our ``build_runner`` with ``load_from``
alone), into models with other classes. The expected layout of every class
tensor is written out here slice by slice, not taken from the code's
``ClassAxis`` tables.
"""
import copy
import os.path as osp

import pytest
import torch
from d2_fixtures import R50, SEMANTIC, convert, require_fixtures
from helpers import DEMO_PR_CFG, REPO
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmpointrend.models.class_layout import (ClassAxis, match_classes,
                                             remap_class_weights)

COCO_CFG = 'configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py'
FT_CFG = 'configs/point_rend/point-rend_r50-caffe_fpn_ms-finetune_custom.py'
SEM_CFG = ('configs/point_rend_seg/'
           'point-rend_fpn_r101-caffe-d2zoo_8xb4-65k_cityscapes-512x1024.py')
SEM_FT_CFG = ('configs/point_rend_seg/'
              'point-rend_fpn_r101-caffe-d2zoo_finetune_custom-512x1024.py')


class SnapshotInit(Hook):
    """Keeps the model's initialised weights, seen just before the
    checkpoint is loaded (before ClassAwareLoadHook rewrites it)."""

    priority = 'HIGHEST'

    def after_load_checkpoint(self, runner, checkpoint):
        self.init = {
            k: v.detach().clone()
            for k, v in runner.model.state_dict().items()
        }


def load_through_runner(cfg, work_dir, ours: bool):
    """``runner.train()`` with 0 iterations: the usual order (init, then
    ``load_from``) and nothing trained; returns (model state, init)."""
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = 0
    cfg.default_hooks.checkpoint.save_best = None
    snapshot = SnapshotInit()
    if ours:
        from mmpointrend.apis import build_runner
        runner = build_runner(cfg)
    else:  # mmdet's / mmseg's tools/train.py
        runner = Runner.from_cfg(cfg)
    runner.register_hook(snapshot)
    model = runner.train()
    return {k: v.detach() for k, v in model.state_dict().items()}, \
        snapshot.init


def shapes_as(root, names):
    from mmpointrend.datasets import generate_coco_shapes
    generate_coco_shapes(
        str(root), num_train=4, num_val=2, img_size=96, seed=3, names=names)
    return str(root) + '/'


def instance_data_options(cfg, root):
    for split in ('train', 'val', 'test'):
        ds = cfg[f'{split}_dataloader'].dataset
        ds.data_root = root
        name = 'train' if split == 'train' else 'val'
        ds.ann_file = f'{name}.json'
        ds.data_prefix = dict(img=f'{name}/')
    for ev in (cfg.val_evaluator, *cfg.test_evaluator):
        ev.ann_file = osp.join(root, 'val.json')
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    return cfg


def check_instance(state, init, src, src_of_dst, channels=256, mask_side=7):
    """Every tensor against the source, the class ones slice by slice."""
    dst_k = len(src_of_dst)
    src_k = src['roi_head.bbox_head.fc_cls.weight'].shape[0] - 1
    m2 = mask_side**2
    rh = 'roi_head.'
    row_blocks = {  # tensor: class block size along dim 0
        'bbox_head.fc_cls.weight': 1,
        'bbox_head.fc_cls.bias': 1,
        'bbox_head.fc_reg.weight': 4,
        'bbox_head.fc_reg.bias': 4,
        'mask_head.predictor.weight': m2,
        'mask_head.predictor.bias': m2,
        'point_head.fc_logits.bias': 1,
    }
    coarse_cols = [f'point_head.fcs.{i}.weight' for i in range(3)]
    class_tensors = {rh + n
                     for n in row_blocks} | {
                         rh + n
                         for n in coarse_cols
                     } | {rh + 'point_head.fc_logits.weight'}
    for name, value in state.items():
        if name not in class_tensors:
            assert torch.equal(value, src[name]), name
    for name, g in row_blocks.items():
        dst, s, ini = state[rh + name], src[rh + name], init[rh + name]
        for j, i in enumerate(src_of_dst):
            want = ini[j * g:(j + 1) * g] if i is None else s[i * g:(i + 1) *
                                                              g]
            assert torch.equal(dst[j * g:(j + 1) * g], want), (name, j)
    # background row of the classifier: the last one, kept
    for name in ('bbox_head.fc_cls.weight', 'bbox_head.fc_cls.bias'):
        assert torch.equal(state[rh + name][dst_k], src[rh + name][src_k])
    # point head: fine-feature / hidden columns kept, coarse-logit columns
    # (the last K of every layer's input) per class
    for name in coarse_cols + ['point_head.fc_logits.weight']:
        dst, s, ini = state[rh + name], src[rh + name], init[rh + name]
        dst_rows = range(dst.shape[0])
        if name.endswith('fc_logits.weight'):  # rows are classes too
            dst_rows = [j for j, i in enumerate(src_of_dst) if i is not None]
            s = s[[src_of_dst[j] for j in dst_rows]]
            dst, ini = dst[dst_rows], ini[dst_rows]
        assert torch.equal(dst[:, :channels], s[:, :channels]), name
        for j, i in enumerate(src_of_dst):
            want = ini[:, channels + j] if i is None else s[:, channels + i]
            assert torch.equal(dst[:, channels + j], want), (name, j)
    # the new class starts from the heads' initialisation, not from zeros
    # or from another class
    for j, i in enumerate(src_of_dst):
        if i is None:
            row = state[rh + 'point_head.fcs.0.weight'][:, channels + j, 0]
            msra = (2 / row.numel())**0.5  # MSRA fill, fan_out
            assert 0.6 * msra < float(row.std()) < 1.4 * msra
            assert not any(
                torch.equal(
                    row, src[rh + 'point_head.fcs.0.weight'][:, channels + i,
                                                             0])
                for i in range(src_k))


@pytest.fixture(scope='module')
def r50_coco(tmp_path_factory):
    require_fixtures()
    path = convert(R50, COCO_CFG, tmp_path_factory.mktemp('r50'))
    ckpt = torch.load(path, weights_only=True)
    return path, ckpt['state_dict'], ckpt['meta']['dataset_meta']['classes']


@pytest.mark.e2e
@pytest.mark.parametrize(
    'flow', ['finetune_config_plain_runner', 'load_from_only_our_runner'])
def test_r50_zoo_into_four_classes(r50_coco, tmp_path, flow):
    """Fixture A (80 COCO classes, names stored by the converter) into
    ('person', 'car', 'widget', 'dog'): 'widget' is new."""
    path, src, coco = r50_coco
    names = ('person', 'car', 'widget', 'dog')
    root = shapes_as(tmp_path / 'data', names)
    if flow == 'finetune_config_plain_runner':
        cfg = Config.fromfile(osp.join(REPO, FT_CFG))
        assert cfg.custom_hooks[0].type == 'ClassAwareLoadHook'
    else:  # the recipe: the zoo config + classes + load_from
        cfg = Config.fromfile(osp.join(REPO, COCO_CFG))
        cfg.model.backbone.init_cfg = None
        cfg.model.roi_head.bbox_head.num_classes = 4
        for split in ('train', 'val', 'test'):
            cfg[f'{split}_dataloader'].dataset.metainfo = dict(classes=names)
        assert not cfg.get('custom_hooks')
    cfg.load_from = path
    instance_data_options(cfg, root)
    state, init = load_through_runner(
        cfg, tmp_path / 'work', ours=(flow == 'load_from_only_our_runner'))
    src_of_dst = [coco.index(n) if n in coco else None for n in names]
    assert src_of_dst[2] is None and None not in src_of_dst[:2]
    check_instance(state, init, src, src_of_dst)


@pytest.mark.e2e
def test_semantic_zoo_into_user_classes(tmp_path):
    """Fixture B (19 Cityscapes classes) into ('road', 'car', 'my_thing')
    with mmseg's plain Runner and the fine-tuning config."""
    require_fixtures()
    from mmengine.registry import init_default_scope

    from mmpointrend.datasets import generate_semantic_scenes
    init_default_scope('mmseg')
    path = convert(SEMANTIC, SEM_CFG, tmp_path)
    ckpt = torch.load(path, weights_only=True)
    src, cityscapes = ckpt['state_dict'], ckpt['meta']['dataset_meta'][
        'classes']
    data = generate_semantic_scenes(
        str(tmp_path / 'data'), num_train=2, num_val=1, seed=0)
    cfg = Config.fromfile(osp.join(REPO, SEM_FT_CFG))
    cfg.load_from = path
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data['data_root']
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    state, init = load_through_runner(cfg, tmp_path / 'work', ours=False)
    names = cfg.classes
    src_of_dst = [
        cityscapes.index(n) if n in cityscapes else None for n in names
    ]
    assert src_of_dst == [0, 13, None]  # road, car, new
    cls_tensors = {
        'decode_head.0.conv_seg.weight', 'decode_head.0.conv_seg.bias',
        'decode_head.1.point_head.fcs.0.weight',
        'decode_head.1.point_head.fc_logits.weight',
        'decode_head.1.point_head.fc_logits.bias'
    }
    for name, value in state.items():
        if name not in cls_tensors:
            assert torch.equal(value, src[name]), name
    for name in ('decode_head.0.conv_seg.weight',
                 'decode_head.0.conv_seg.bias',
                 'decode_head.1.point_head.fc_logits.bias'):
        for j, i in enumerate(src_of_dst):
            want = init[name][j] if i is None else src[name][i]
            assert torch.equal(state[name][j], want), (name, j)
    # zoo layout: the coarse logits enter the first layer only (256 fine
    # columns, then the classes); the predictor reads 256 hidden features
    fcs0 = 'decode_head.1.point_head.fcs.0.weight'
    assert state[fcs0].shape[1] == 256 + 3
    assert torch.equal(state[fcs0][:, :256], src[fcs0][:, :256])
    for j, i in enumerate(src_of_dst):
        want = init[fcs0][:, 256 + j] if i is None else src[fcs0][:, 256 + i]
        assert torch.equal(state[fcs0][:, 256 + j], want)
    logits = 'decode_head.1.point_head.fc_logits.weight'
    assert torch.equal(state[logits][:2], src[logits][[0, 13]])


# ----------------------------------------------------------------------
# the rules, on the small demo models (no fixtures)
# ----------------------------------------------------------------------
def build(cfg_path, num_classes, **roi_overrides):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(cfg_path)
    model_cfg = copy.deepcopy(cfg.model)
    for head in ('bbox_head', 'mask_head', 'point_head'):
        model_cfg.roi_head[head].num_classes = num_classes
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


def test_demo_models_by_name_and_class_map():
    src = build(DEMO_PR_CFG, 4)
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    dst = build(DEMO_PR_CFG, 3)
    init = {k: v.clone() for k, v in dst.state_dict().items()}
    # 'donut' is the source's 'ring' renamed; 'cross' is new; order differs
    report = remap_class_weights(dst, sd, ['star', 'cross', 'donut'],
                                 ['star', 'ring', 'glyph', 'polygon'],
                                 dict(donut='ring'))
    assert report.src_of_dst == [0, None, 1]
    assert report.how == ['same name', 'new', 'class_map']
    dst.load_state_dict(sd, strict=True)
    state = {k: v.detach() for k, v in dst.state_dict().items()}
    check_instance(state, init, src.state_dict(), [0, None, 1], channels=64)
    table = report.table()
    assert 'donut' in table and 'ring (class_map)' in table
    assert 'roi_head.point_head.fcs.0.weight (64, 68, 1) -> (64, 67, 1)' \
        in table


def test_no_class_names():
    src = build(DEMO_PR_CFG, 4)
    dst = build(DEMO_PR_CFG, 4)
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    report = remap_class_weights(dst, sd, ['a', 'b', 'c', 'd'])
    assert report.src_of_dst == [0, 1, 2, 3]  # same count: same order
    assert 'same order' in report.warnings[0]
    dst.load_state_dict(sd)
    assert torch.equal(dst.roi_head.point_head.fcs[0].weight,
                       src.roi_head.point_head.fcs[0].weight)
    # another count: nothing class-dependent copied, the rest kept
    dst3 = build(DEMO_PR_CFG, 3)
    init = dst3.roi_head.point_head.fcs[0].weight.detach().clone()
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    report = remap_class_weights(dst3, sd, ['a', 'b', 'c'])
    assert report.src_of_dst == [None] * 3
    assert 'only weights that do not depend on the classes' in \
        report.warnings[0]
    dst3.load_state_dict(sd, strict=True)
    w = dst3.roi_head.point_head.fcs[0].weight
    assert torch.equal(w[:, :64],
                       src.roi_head.point_head.fcs[0].weight[:, :64])
    assert torch.equal(w[:, 64:], init[:, 64:])


def test_bad_maps_and_counts_are_named():
    with pytest.raises(KeyError, match='not classes of the model'):
        match_classes(['a'], ['a'], dict(b='a'))
    with pytest.raises(KeyError, match='not a class of the checkpoint'):
        match_classes(['a'], ['x'], dict(a='y'))
    src = build(DEMO_PR_CFG, 4)
    dst = build(DEMO_PR_CFG, 3)
    with pytest.raises(
            ValueError, match='num_classes=3 but the dataset has 4'):
        remap_class_weights(dst, dict(src.state_dict()), list('abcd'),
                            list('abcd'))
    with pytest.raises(ValueError, match='checkpoint'):
        remap_class_weights(dst, dict(src.state_dict()), list('abc'), None,
                            dict(a='b'))


def test_implicit_parameter_rows_follow_classes():
    """Implicit PointRend: the parameter head's predictor holds, per class,
    the point MLP's last-layer weight row and bias."""
    cfg = osp.join(REPO,
                   'configs/demo/implicit-point-rend_r18-tiny_fpn_shapes.py')
    src, dst = build(cfg, 4), build(cfg, 2)
    head = dst.roi_head.point_head
    (_, d), hidden = head.layer_shapes[-1], head.layer_shapes[:-1]
    w_end = sum(o * i for o, i in hidden)
    b_end = sum(o for o, _ in hidden)

    def last_layer(params, num):  # (N, ...) rows -> weight rows, bias rows
        n_w = w_end + num * d
        return (params[:w_end], params[w_end:n_w].reshape(num, d, -1),
                params[n_w:n_w + b_end], params[n_w + b_end:])

    sd = {k: v.clone() for k, v in src.state_dict().items()}
    remap_class_weights(dst, sd, ['polygon', 'star'],
                        ['star', 'ring', 'glyph', 'polygon'])
    dst.load_state_dict(sd, strict=True)
    for name in ('weight', 'bias'):
        got = last_layer(getattr(dst.roi_head.mask_head.predictor, name), 2)
        want = last_layer(getattr(src.roi_head.mask_head.predictor, name), 4)
        assert torch.equal(got[0], want[0]) and torch.equal(got[2], want[2])
        assert torch.equal(got[1], want[1][[3, 0]])
        assert torch.equal(got[3], want[3][[3, 0]])


def test_class_axis_parts():
    axis = ClassAxis.blocks(1, group=2, before=3, after=1)
    assert axis.size(4) == 12 and axis.num_classes(12) == 4
    assert axis.num_classes(13) is None
    assert axis.source_index(
        4, [3, None]).tolist() == [0, 1, 2, 9, 10, -1, -1, 11]
