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


def test_configs_found():
    names = {osp.basename(c) for c in CONFIGS}
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


@pytest.mark.parametrize('config', CONFIGS)
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
    assert listed == expected
