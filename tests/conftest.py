"""Test tiers: a plain ``pytest`` runs the fast unit tier; ``--e2e`` adds the
end-to-end tier (tests marked ``e2e``: mmengine's Runner, the tools as
subprocesses, ONNX export, the demo flows); ``-m e2e`` runs that tier
alone. ``tests/``, ``tests/test_converters`` and ``tools/model_converters``
are on the import path (setup.cfg, ``pythonpath``).

Both tiers run in parallel (pytest-xdist, ``-n auto`` in setup.cfg): one
worker per core up to :data:`MAX_WORKERS`, each test file on one worker
(its module fixtures built once), torch's threads split between the
workers. ``-n 0`` runs in this process (a debugger, ``-s``)."""
import os

import pytest
import torch

import mmpointrend  # noqa: F401

#: workers of ``-n auto``: each holds torch, mmdet and mmseg and the models
#: of its tests (up to ~2 GB for the R50 golden runs)
MAX_WORKERS = 8


def _cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


if os.environ.get('PYTEST_XDIST_WORKER'):
    # the cores split between the workers, not oversubscribed
    torch.set_num_threads(
        max(1,
            _cores() // int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', 1))))


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per core, at most :data:`MAX_WORKERS`."""
    return max(1, min(_cores(), MAX_WORKERS))


def pytest_addoption(parser):
    parser.addoption(
        '--e2e',
        action='store_true',
        help='also run the end-to-end tier (tests marked e2e)')


def pytest_collection_modifyitems(config, items):
    """Deselect the e2e tier unless ``--e2e`` or a ``-m`` expression asks
    for it."""
    if config.getoption('--e2e') or config.getoption('-m'):
        return
    fast = [item for item in items if 'e2e' not in item.keywords]
    if len(fast) < len(items):
        config.hook.pytest_deselected(
            items=[item for item in items if 'e2e' in item.keywords])
        items[:] = fast


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
