import json
import os.path as osp

import pytest
import torch
from helpers import DEMO_PR_CFG, REPO, load_demo_cfg
from mmengine.config import Config

from mmpointrend.apis import (DataConfigError, check_annotation_file,
                              check_config)


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


GOOD = dict(
    images=[dict(id=1, file_name='a.png', height=8, width=8)],
    annotations=[
        dict(
            id=1,
            image_id=1,
            category_id=2,
            bbox=[0, 0, 2, 2],
            area=4,
            iscrowd=0,
            segmentation=[[0, 0, 2, 0, 2, 2]])
    ],
    categories=[dict(id=2, name='star')])


def test_annotation_file_errors_name_the_file(tmp_path):
    check_annotation_file(_write(tmp_path, 'ok.json', GOOD), 'x', ['star'])
    with pytest.raises(DataConfigError, match='not found: .*nope.json'):
        check_annotation_file(str(tmp_path / 'nope.json'), 'x')
    bad = _write(tmp_path, 'bad.json', '{"images": [')
    with pytest.raises(DataConfigError, match='bad.json is not valid JSON'):
        check_annotation_file(bad, 'x')
    lst = _write(tmp_path, 'list.json', '[]')
    with pytest.raises(DataConfigError, match='JSON object'):
        check_annotation_file(lst, 'x')
    nocat = _write(tmp_path, 'nocat.json', dict(images=[]))
    with pytest.raises(DataConfigError, match="categories"):
        check_annotation_file(nocat, 'x')
    wrong = dict(
        GOOD, annotations=[dict(GOOD['annotations'][0], category_id=7)])
    with pytest.raises(DataConfigError, match=r'category_id \[7\]'):
        check_annotation_file(_write(tmp_path, 'w.json', wrong), 'x')
    with pytest.raises(DataConfigError, match=r"classes \['ring'\]"):
        check_annotation_file(
            _write(tmp_path, 'c.json', GOOD), 'x', ['star', 'ring'])


def test_check_config_on_demo_config(shapes_data, tmp_path):
    cfg = load_demo_cfg(DEMO_PR_CFG, shapes_data)
    check_config(cfg)  # the generated data is fine
    cfg.model.roi_head.point_head.num_classes = 5
    with pytest.raises(DataConfigError, match='point_head.num_classes=5'):
        check_config(cfg)
    cfg = load_demo_cfg(DEMO_PR_CFG, shapes_data)
    cfg.val_dataloader.dataset.ann_file = 'missing.json'
    with pytest.raises(DataConfigError, match='val_dataloader.dataset'):
        check_config(cfg)


def test_semantic_config_class_count():
    cfg = Config.fromfile(
        osp.join(
            REPO, 'configs/point_rend_seg/point-rend_fpn_r101-p2p5_'
            '8xb4-65k_cityscapes-512x1024.py'))
    check_config(cfg)
    cfg.model.decode_head[1].num_classes = 20
    with pytest.raises(DataConfigError, match=r'decode_head\[1\]'):
        check_config(cfg)


def _wrapper(mode):
    from mmengine.logging import MessageHub
    from mmengine.registry import OPTIM_WRAPPERS
    model = torch.nn.Linear(2, 1)
    wrapper = OPTIM_WRAPPERS.build(
        dict(
            type='NonFiniteLossOptimWrapper',
            on_nonfinite=mode,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    MessageHub.get_current_instance().update_info('iter', 6)
    return model, wrapper


def test_nonfinite_loss_raises_with_iteration():
    model, wrapper = _wrapper('raise')
    before = model.weight.detach().clone()
    loss = model(torch.ones(1, 2)).sum() * float('nan')
    with pytest.raises(FloatingPointError, match='iteration 7'):
        wrapper.update_params(loss)
    assert torch.equal(model.weight, before)


def test_nonfinite_loss_skip_keeps_weights_and_goes_on():
    model, wrapper = _wrapper('skip')
    before = model.weight.detach().clone()
    wrapper.update_params(model(torch.ones(1, 2)).sum() * float('inf'))
    assert torch.equal(model.weight, before) and wrapper.skipped_steps == 1
    wrapper.update_params(model(torch.ones(1, 2)).sum())
    assert not torch.equal(model.weight, before)
    with pytest.raises(ValueError, match='on_nonfinite'):
        from mmpointrend.engine import NonFiniteLossOptimWrapper
        NonFiniteLossOptimWrapper(
            torch.optim.SGD(model.parameters(), lr=1), on_nonfinite='ignore')
