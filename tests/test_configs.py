"""Every config under configs/ loads, builds its model on CPU and runs one
loss and one predict pass on a small generated batch (the image is shrunk,
the architecture is not)."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

from helpers import REPO

CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs/*/*.py')))


INSTANCE = [c for c in CONFIGS if 'roi_head' in Config.fromfile(
    osp.join(REPO, c)).model]
SEMANTIC = [c for c in CONFIGS if c not in INSTANCE]


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
        assert any(n.startswith('mask-rcnn') and n.split('_', 1)[1].replace(
            '-iter', '').replace('ms-poly', 'ms') == expected.split('_', 1)[1]
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


@pytest.mark.parametrize('config', SEMANTIC)
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
                torch.randint(0, 255, (3, h, w), generator=g,
                              dtype=torch.uint8))
            s = SegDataSample()
            label = torch.randint(0, num_classes, (1, h, w), generator=g)
            label[:, :8] = 255  # an ignored band
            s.gt_sem_seg = PixelData(data=label)
            s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w),
                                pad_shape=(h, w)))
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
            results = model(**model.data_preprocessor(packed, False),
                            mode='predict')
    for res, (h, w) in zip(results, ((64, 128), (64, 128))):
        assert res.pred_sem_seg.data.shape == (1, h, w)
        assert res.seg_logits.data.shape == (num_classes, h, w)


@pytest.mark.parametrize('config', INSTANCE)
def test_config_builds_and_runs(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    if cfg.get('custom_imports'):
        assert cfg.custom_imports.imports == ['mmpointrend']
    model = MODELS.build(cfg.model)  # no init_weights: no download
    num_classes = cfg.model.roi_head.bbox_head.num_classes
    torch.manual_seed(0)
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 160),
                                                        (3, 96, 128)],
                            num_items=[3, 0], num_classes=num_classes,
                            with_mask=True)
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    assert 'loss_mask' in losses
    if cfg.model.roi_head.type == 'PointRendInstanceRoIHead':
        assert 'loss_point' in losses
        assert cfg.model.train_cfg.rcnn.mask_size == 7
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
