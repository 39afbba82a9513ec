"""Checkpoints that an interrupted save cannot destroy, and a resume that
survives a damaged newest checkpoint.

mmengine writes ``iter_N.pth`` and ``last_checkpoint`` in place: a run killed
while saving (or a full disk) leaves a truncated newest checkpoint, and
``--resume`` then stops in ``torch.load`` with ``PytorchStreamReader failed
reading zip archive`` although the previous checkpoint is intact.

- :class:`AtomicLocalBackend` (file backend ``'local_atomic'``) writes every
  file to a temporary name in the same folder, flushes it to disk and
  renames it into place, so a file is either the old one or the new one.
- :class:`AtomicCheckpointHook` is mmengine's ``CheckpointHook`` saving
  through it, ``last_checkpoint`` included.
- :func:`newest_readable_checkpoint` picks what to resume from: the newest
  checkpoint of a work dir whose archive is intact, naming the damaged ones.
"""
import os
import os.path as osp
import re
import tempfile
import zipfile
from typing import List, Optional, Tuple, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS


def atomic_write(data: Union[bytes, str], path: str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same
    folder, fsync'd and renamed into place (``os.replace`` is atomic)."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put`` / ``put_text``."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(obj, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), str(filepath))


register_backend('local_atomic', AtomicLocalBackend, force=True)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) whose checkpoints and
    ``last_checkpoint`` are replaced atomically (:class:`AtomicLocalBackend`
    unless ``backend_args`` names another backend)."""

    def __init__(self,
                 *args,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        if backend_args is None:
            backend_args = dict(backend='local_atomic')
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        super()._save_checkpoint_with_step(runner, step, meta)
        if is_main_process():
            # mmengine wrote it in place; replace it by a whole copy
            atomic_write(self.last_ckpt,
                         osp.join(runner.work_dir, 'last_checkpoint'))


def checkpoint_is_readable(path: str) -> Tuple[bool, str]:
    """Whether ``path`` is an intact torch checkpoint archive (every member
    present with a matching CRC), without unpickling it.

    Returns:
        tuple: ``(ok, reason)``.
    """
    if not osp.isfile(path):
        return False, 'missing'
    if not zipfile.is_zipfile(path):
        return False, 'not a torch checkpoint (no zip archive)'
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        return False, f'damaged archive ({e})'
    if bad is not None:
        return False, f'damaged member {bad}'
    if not any(n.endswith('data.pkl') for n in names):
        return False, 'not a torch checkpoint (no data.pkl)'
    return True, ''


def _iteration(path: str) -> int:
    match = re.search(r'(?:iter|epoch)_(\d+)\.pth$', path)
    return int(match[1]) if match else -1


def newest_readable_checkpoint(
        work_dir: str) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """The checkpoint to resume a run in ``work_dir`` from.

    Candidates: the file ``last_checkpoint`` names, then every
    ``iter_N.pth`` / ``epoch_N.pth`` of the folder, newest first.

    Returns:
        tuple: the newest readable checkpoint (None if there is none) and
        ``(path, reason)`` of every newer one that is damaged.
    """
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named:
            candidates.append(named)
    if osp.isdir(work_dir):
        found = [
            osp.join(work_dir, n) for n in os.listdir(work_dir)
            if _iteration(n) >= 0
        ]
        candidates += sorted(found, key=_iteration, reverse=True)
    damaged, seen = [], set()
    for path in candidates:
        if osp.abspath(path) in seen:
            continue
        seen.add(osp.abspath(path))
        ok, reason = checkpoint_is_readable(path)
        if ok:
            return path, damaged
        damaged.append((path, reason))
    return None, damaged
