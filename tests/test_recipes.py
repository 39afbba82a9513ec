"""The README's "PointRend on your model" recipes, copied from the README as
written, applied to mmdet and mmseg configs this project does not ship: each
builds, trains a step and infers (RoI hosts: refined 224x224 masks; RTMDet-
Ins: image-size masks)."""
import glob
import os.path as osp
import re

import pytest
import torch
from helpers import REPO
from mmengine.config import Config

# the end-to-end tier (pytest --e2e; tests/conftest.py): README blocks on
# configs we do not ship, built, trained a step and run
pytestmark = pytest.mark.e2e


def _recipe(name: str) -> str:
    """The fenced block after ``<!-- recipe: name -->`` in the README."""
    text = open(osp.join(REPO, 'README.md')).read()
    match = re.search(
        rf'<!-- recipe: {re.escape(name)} -->\n```python\n(.*?)```', text,
        re.S)
    assert match, f'README has no recipe {name!r}'
    return match.group(1)


def _apply(name: str, host: str, tmp_path, replace=()) -> Config:
    """The recipe with its example host replaced by ``host``, written as a
    user's config file and loaded."""
    text = _recipe(name).replace('PATH/TO/mmpointrend', REPO)
    example = re.search(r"'(mm(?:det|seg)::[^']+)'", text).group(1)
    assert host not in text
    text = text.replace(example, host)
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / 'my_pointrend.py'
    path.write_text(text)
    return Config.fromfile(str(path))


def _shipped() -> set:
    """Every mmdet / mmseg config the project's configs inherit."""
    out = set()
    for path in glob.glob(osp.join(REPO, 'configs/**/*.py'), recursive=True):
        for line in open(path):
            out.update(re.findall(r"'(mm(?:det|seg)::[^']+)'", line))
    return out


INSTANCE_HOSTS = [
    # GN everywhere, 4conv1fc box head: a Mask R-CNN the project does not ship
    ('mmdet', 'mmdet::gn/mask-rcnn_r50_fpn_gn-all_2x_coco.py', (),
     'PointRendInstanceRoIHead'),
    ('mmdet-cascade',
     'mmdet::cascade_rcnn/cascade-mask-rcnn_r50-caffe_fpn_1x_coco.py', (),
     'PointRendCascadeRoIHead'),
    # HTC without its semantic branch, by the recipe's HTC line
    ('mmdet-cascade', 'mmdet::htc/htc-without-semantic_r50_fpn_1x_coco.py',
     (('model = dict(roi_head={{_base_.point_rend_cascade_roi_head}})\n', ''),
      ('# HTC: model', 'model')), 'PointRendHTCRoIHead'),
]


@pytest.mark.parametrize('recipe,host,replace,head_type', INSTANCE_HOSTS)
def test_instance_recipe_on_an_unshipped_mmdet_config(recipe, host, replace,
                                                      head_type, tmp_path):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    assert host not in _shipped()
    cfg = _apply(recipe, host, tmp_path, replace)
    cfg.model.backbone.init_cfg = None  # no download
    model = MODELS.build(cfg.model)
    head = model.roi_head
    assert type(head).__name__ == head_type
    host_cfg = Config.fromfile(
        osp.join(
            osp.dirname(__import__('mmdet').__file__), '.mim', 'configs',
            host.split('::')[1]))
    # the host's box branch and training settings are kept
    assert cfg.model.roi_head.bbox_head == host_cfg.model.roi_head.bbox_head
    assert cfg.model.backbone == dict(host_cfg.model.backbone, init_cfg=None)
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 128, 160), (3, 96, 128)],
        num_items=[3, 1],
        num_classes=80,
        with_mask=True)
    model.train()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    point_losses = [k for k in losses if k.endswith('loss_point')]
    assert point_losses == ([
        's0.loss_point', 's1.loss_point', 's2.loss_point'
    ] if 'cascade' in recipe else ['loss_point'])
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(packed, False)
        x = model.extract_feat(data['inputs'])
        rois = torch.tensor([[0, 8., 8., 100., 90.], [1, 20., 10., 60., 80.]])
        refined = head.refine_masks(x, rois, torch.tensor([0, 5]))
        results = model(**data, mode='predict')
    assert refined.shape == (2, 1, 224, 224)
    for res, sample in zip(results, packed['data_samples']):
        assert res.pred_instances.masks.shape[1:] == sample.ori_shape


def _one_stage_trains_and_predicts(model, packed):
    """A training step with ``loss_point`` and a finite loss, then
    predictions with image-size masks."""
    model.train()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    assert 'loss_point' in losses
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        results = model(
            **model.data_preprocessor(packed, False), mode='predict')
    for res, sample in zip(results, packed['data_samples']):
        assert res.pred_instances.masks.shape[1:] == sample.ori_shape


DENSE_HOSTS = [
    # RTMDet-Ins m: CSPNeXt widen 0.75, its stride-4 stage has 96 channels
    ('mmdet::rtmdet/rtmdet-ins_m_8xb32-300e_coco.py',
     (('fine_channels=64', 'fine_channels=96'), )),
    # RTMDet-Ins x: widen 1.25, 160 channels
    ('mmdet::rtmdet/rtmdet-ins_x_8xb16-300e_coco.py',
     (('fine_channels=64', 'fine_channels=160'), )),
]


@pytest.mark.parametrize('host,replace', DENSE_HOSTS)
def test_rtmdet_ins_recipe_on_an_unshipped_mmdet_config(
        host, replace, tmp_path):
    from helpers import cpu_model_cfg
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    assert host not in _shipped()
    cfg = _apply('mmdet-rtmdet-ins', host, tmp_path, replace)
    model = MODELS.build(cpu_model_cfg(cfg.model))
    assert type(model.bbox_head).__name__ == 'PointRendRTMDetInsHead'
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 128, 160), (3, 128, 160)],  # RTMDet: one size
        num_items=[3, 1],
        num_classes=80,
        with_mask=True)
    model.bbox_head.test_cfg.score_thr = 0.0
    _one_stage_trains_and_predicts(model, packed)


@pytest.mark.parametrize('host', [
    'mmdet::mask2former/mask2former_r101_8xb2-lsj-50e_coco.py',
])
def test_mask2former_recipe_on_an_unshipped_mmdet_config(host, tmp_path):
    from helpers import cpu_model_cfg
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    assert host not in _shipped()
    cfg = _apply('mmdet-mask2former', host, tmp_path)
    cfg.model.data_preprocessor.batch_augments = None  # no 1024 padding
    model = MODELS.build(cpu_model_cfg(cfg.model))
    assert type(model).__name__ == 'PointRendMask2Former'
    assert model.backbone.depth == 101
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 128, 160), (3, 96, 128)],
        num_items=[3, 1],
        num_classes=80,
        with_mask=True)
    _one_stage_trains_and_predicts(model, packed)


SEMANTIC_HOSTS = [
    # one head: the PointRend head is the second stage
    ('mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py', (), 2),
    # a cascade host (FCN + OCR heads): PointRend is the third stage; HRNet's
    # stride-4 output has 18 channels
    ('mmseg::ocrnet/ocrnet_hr18_4xb2-40k_cityscapes-512x1024.py',
     (('in_channels=[256]', 'in_channels=[18]'), ), 3),
]


@pytest.mark.parametrize('host,replace,stages', SEMANTIC_HOSTS)
def test_semantic_recipe_on_an_unshipped_mmseg_config(host, replace, stages,
                                                      tmp_path):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import DefaultScope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    assert host not in _shipped()
    cfg = _apply('mmseg', host, tmp_path, replace)
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = None
    cfg.model.data_preprocessor.size_divisor = 32
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        assert model.num_stages == stages
        assert type(model.decode_head[-1]).__name__ == 'PointRendSemanticHead'
        g = torch.Generator().manual_seed(0)
        packed = dict(inputs=[], data_samples=[])
        for _ in range(2):
            packed['inputs'].append(
                torch.randint(0, 255, (3, 64, 128), generator=g).byte())
            s = SegDataSample()
            s.gt_sem_seg = PixelData(
                data=torch.randint(0, 19, (1, 64, 128), generator=g))
            s.set_metainfo(
                dict(
                    img_shape=(64, 128),
                    ori_shape=(64, 128),
                    pad_shape=(64, 128)))
            packed['data_samples'].append(s)
        model.train()
        losses = model(**model.data_preprocessor(packed, True), mode='loss')
        assert f'decode_{stages - 1}.loss_point' in losses
        total, _ = model.parse_losses(losses)
        assert torch.isfinite(total)
        total.backward()
        model.eval()
        with torch.no_grad():
            results = model(
                **model.data_preprocessor(packed, False), mode='predict')
    for res in results:
        assert res.pred_sem_seg.data.shape == (1, 64, 128)


def test_stacked_encoder_decoder_splices_the_host_heads_in_order():
    from mmpointrend.models.segmentors.stacked_encoder_decoder import \
        flatten_heads
    a, b, c = dict(type='A'), dict(type='B'), dict(type='C')
    assert flatten_heads([[a, b], c]) == [a, b, c]
    assert flatten_heads([a, c]) == [a, c]
    assert flatten_heads(a) == [a]
