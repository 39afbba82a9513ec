"""Shared by the deployment tests: the demo models with random weights
(the graphs, not the accuracy, are under test) and test images."""
import pytest
import torch
from deploy_helpers import INST_CFG, SEM_CFG


def _ckpt(model, path):
    meta = getattr(model, 'dataset_meta', None)
    if meta is None:  # what mmseg's Runner stores
        from mmpointrend.datasets.synthetic_scenes import CLASSES, PALETTE
        meta = dict(classes=CLASSES, palette=PALETTE)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=meta) if meta else {}), path)
    return str(path)


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    from mmdet.apis import init_detector
    torch.manual_seed(0)
    model = init_detector(INST_CFG, None, device='cpu')
    model.roi_head.test_cfg.score_thr = 0.0  # random weights: keep boxes
    path = _ckpt(model, tmp_path_factory.mktemp('det') / 'pr.pth')
    return model, path


@pytest.fixture(scope='module')
def segmentor(tmp_path_factory):
    from mmseg.apis import init_model

    from mmpointrend.datasets import generate_semantic_scenes
    root = tmp_path_factory.mktemp('scenes')
    generate_semantic_scenes(str(root), 2, 2, seed=0)
    torch.manual_seed(0)
    model = init_model(SEM_CFG, None, device='cpu')
    path = _ckpt(model, root / 'pr.pth')
    img = sorted((root / 'img_dir' / 'val').iterdir())[0]
    return model, path, str(img)
