"""init_model: weights plus class names, also from checkpoints that store no
dataset_meta (converted zoo weights), where mmdet's init_detector falls back
to COCO's names and mmseg's init_model crashes on a cascade segmentor."""
import os.path as osp

import pytest
import torch
from helpers import DEMO_PR_CFG, REPO
from mmengine.config import Config

from mmpointrend.apis import dataset_meta_from_config, init_model

SEG_CFG = osp.join(REPO, 'configs/demo/point-rend_fpn_r18-tiny_scenes-seg.py')


def _bare_checkpoint(config, path):
    """A checkpoint as converters used to write: weights, no dataset_meta."""
    model = init_model(config)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(converted_from='detectron2')), path)
    return model


def test_instance_classes_come_from_the_config(tmp_path):
    ckpt = str(tmp_path / 'bare.pth')
    ref = _bare_checkpoint(DEMO_PR_CFG, ckpt)
    from mmdet.apis import init_detector
    with pytest.warns(UserWarning, match='COCO'):
        upstream = init_detector(DEMO_PR_CFG, ckpt, device='cpu')
    assert len(upstream.dataset_meta['classes']) == 80  # wrong for shapes
    with pytest.warns(UserWarning, match='no dataset_meta'):
        model = init_model(DEMO_PR_CFG, ckpt)
    assert model.dataset_meta['classes'] == ('star', 'ring', 'glyph',
                                             'polygon')
    assert not model.training
    for (name, a), b in zip(model.state_dict().items(),
                            ref.state_dict().values()):
        assert torch.equal(a, b), name


def test_semantic_checkpoint_without_meta_loads(tmp_path):
    ckpt = str(tmp_path / 'bare.pth')
    _bare_checkpoint(SEG_CFG, ckpt)
    from mmseg.apis import init_model as mmseg_init_model
    with pytest.raises(AttributeError, match='num_classes'):
        mmseg_init_model(SEG_CFG, ckpt, device='cpu')
    with pytest.warns(UserWarning, match='no dataset_meta'):
        model = init_model(SEG_CFG, ckpt)
    expected = dataset_meta_from_config(Config.fromfile(SEG_CFG))
    assert model.dataset_meta == expected
    assert len(expected['classes']) == model.decode_head[1].num_classes
    assert len(expected['palette']) == len(expected['classes'])


def test_stored_dataset_meta_wins(tmp_path):
    model = init_model(DEMO_PR_CFG)
    ckpt = str(tmp_path / 'meta.pth')
    meta = dict(classes=('a', 'b', 'c', 'd'), palette=[(1, 2, 3)] * 4)
    torch.save(
        dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)),
        ckpt)
    assert init_model(DEMO_PR_CFG, ckpt).dataset_meta == meta


def test_config_without_test_dataset_is_named():
    cfg = Config.fromfile(DEMO_PR_CFG)
    cfg.test_dataloader = None
    with pytest.raises(ValueError, match='test_dataloader'):
        dataset_meta_from_config(cfg)
