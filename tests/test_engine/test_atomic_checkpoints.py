"""Checkpoints cut short while being written: saves are atomic, and
``--resume`` goes back to the newest readable checkpoint (naming the damaged
one) or stops with a message, never a torch trace."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from helpers import DEMO_PR_CFG, REPO
from test_tools.test_train_test_tools import DATA_OPTS

from mmpointrend.engine import (atomic_write, checkpoint_is_readable,
                                newest_readable_checkpoint)

# the end-to-end tier (pytest --e2e; tests/conftest.py)
pytestmark = pytest.mark.e2e


def _train(work_dir, shapes_data, iters, *extra):
    opts = DATA_OPTS.format(root=shapes_data).split() + [
        f'train_cfg.max_iters={iters}', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=10',
        'train_dataloader.batch_size=1', 'train_dataloader.num_workers=0',
        'default_hooks.logger.interval=1'
    ]
    return subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools/train.py'), DEMO_PR_CFG, '--work-dir',
            str(work_dir), '--cfg-options'
        ] + opts + list(extra),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)


@pytest.fixture(scope='module')
def four_iterations(shapes_data, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('ckpt')
    out = _train(work_dir, shapes_data, 4)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert {p.name
            for p in work_dir.glob('iter_*.pth')
            } == {'iter_2.pth', 'iter_4.pth'}
    # written by the atomic hook: no temporary file is left behind
    assert not list(work_dir.glob('.*.tmp'))
    return work_dir


def _copy_run(src, dst):
    dst.mkdir()
    for p in src.iterdir():
        if p.is_file():
            (dst / p.name).write_bytes(p.read_bytes())
    # last_checkpoint names absolute paths of the source run
    (dst / 'last_checkpoint').write_text(str(dst / 'iter_4.pth'))
    return dst


@pytest.mark.parametrize('damage', ['truncated', 'not_a_checkpoint'])
def test_resume_skips_a_damaged_newest_checkpoint(four_iterations, shapes_data,
                                                  tmp_path, damage):
    run = _copy_run(four_iterations, tmp_path / 'run')
    newest = run / 'iter_4.pth'
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) //
                            2] if damage == 'truncated' else b'disk full\n')
    with pytest.raises(Exception):  # what mmengine alone would meet
        torch.load(newest, weights_only=True)
    out = _train(run, shapes_data, 6, '--resume')
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert 'Traceback' not in log
    assert f'skipping damaged checkpoint {newest}' in log
    assert 'iter_2.pth' in log and 'Iter(train) [6/6]' in log
    assert 'Iter(train) [3/6]' in log  # resumed after iteration 2
    assert torch.load(
        run / 'iter_6.pth', weights_only=True)['meta']['iter'] == 6


def test_explicit_damaged_resume_stops_with_a_message(four_iterations,
                                                      shapes_data, tmp_path):
    run = _copy_run(four_iterations, tmp_path / 'run')
    bad = run / 'iter_4.pth'
    bad.write_bytes(bad.read_bytes()[:1000])
    out = _train(run, shapes_data, 6, '--resume', str(bad))
    log = out.stdout + out.stderr
    assert out.returncode != 0
    assert f'cannot resume from {bad}' in log and 'Traceback' not in log
    # every checkpoint damaged: named, nothing restarts silently
    (run / 'iter_2.pth').write_bytes(b'')
    out = _train(run, shapes_data, 6, '--resume')
    log = out.stdout + out.stderr
    assert out.returncode != 0 and 'no readable checkpoint' in log
    assert 'iter_2.pth' in log and 'Traceback' not in log


def test_newest_readable_checkpoint_order(tmp_path):
    good = tmp_path / 'x.pth'
    torch.save({'a': torch.zeros(2)}, good)
    for n in (2, 10):
        (tmp_path / f'iter_{n}.pth').write_bytes(good.read_bytes())
    (tmp_path / 'iter_12.pth').write_bytes(good.read_bytes()[:-50])
    path, damaged = newest_readable_checkpoint(str(tmp_path))
    assert path.endswith('iter_10.pth')  # numeric, not lexical, order
    assert [osp.basename(p) for p, _ in damaged] == ['iter_12.pth']
    assert checkpoint_is_readable(str(good)) == (True, '')
    assert not checkpoint_is_readable(str(tmp_path / 'nope.pth'))[0]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / 'last_checkpoint'
    atomic_write('old', str(target))

    with pytest.raises(TypeError):
        atomic_write(object(), str(target))  # fails while writing
    assert target.read_text() == 'old'
    assert os.listdir(tmp_path) == ['last_checkpoint']
