import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mmpointrend  # noqa: E402,F401


@pytest.fixture(scope='session', autouse=True)
def _register_upstream():
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture(scope='session')
def shapes_data(tmp_path_factory):
    """A small generated COCO-format dataset shared by the tests."""
    from mmpointrend.datasets import generate_coco_shapes
    root = tmp_path_factory.mktemp('shapes')
    generate_coco_shapes(
        str(root), num_train=24, num_val=8, img_size=96, seed=1, num_empty=4)
    return str(root) + '/'


@pytest.fixture(autouse=True)
def _restore_mmdet_scope():
    """mmseg's / mmdet's ``init_model`` / ``init_detector`` switch the
    process-wide default scope; give every test the session's ``mmdet``."""
    yield
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
