"""Config adjustments applied by ``tools/train.py`` and ``tools/test.py``."""
import contextlib
import copy

import torch
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper for CPU processes (gloo).

    mmengine always passes ``device_ids=[LOCAL_RANK]``, which torch rejects
    for a module on the CPU; this wrapper drops them.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        super().__init__(module=module, device_ids=None, **kwargs)


@contextlib.contextmanager
def _no_cuda_device_selection():
    """Inside the block, ``torch.cuda.set_device`` does nothing; restored
    on exit.

    mmengine's ``init_dist`` (run while the Runner is built) calls
    ``torch.cuda.set_device(local_rank)`` unconditionally; a CPU build of
    torch has no CUDA device to select. mmengine has no option to skip it,
    so the call is neutralised for the Runner's construction only.
    """
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def sync_bn_to_bn(node):
    """Replace every ``SyncBN`` / ``MMSyncBN`` norm config by ``BN``, in
    place; returns how many were replaced."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += sync_bn_to_bn(value)
    return count


def offline_cpu_model_cfg(model_cfg):
    """A copy of a model config that builds and runs on one CPU without a
    download: SyncBN -> BN (:func:`sync_bn_to_bn`), ``Pretrained``
    initialisations dropped (tests and benchmarks on random weights)."""
    model_cfg = copy.deepcopy(model_cfg)
    sync_bn_to_bn(model_cfg)

    def drop_pretrained(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == 'init_cfg' and isinstance(value, dict) and \
                        value.get('type') == 'Pretrained':
                    node[key] = None
                else:
                    drop_pretrained(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                drop_pretrained(value)

    drop_pretrained(model_cfg)
    return model_cfg


def prepare_runner_cfg(cfg: Config) -> Config:
    """Make a GPU config runnable where there is no GPU.

    mmengine's ``CheckpointHook`` becomes :class:`AtomicCheckpointHook`
    (same settings; files replaced atomically), and a config with
    ``load_from`` gets :class:`ClassAwareLoadHook`
    (:func:`add_class_aware_load`). Without CUDA (nothing else changes on a
    GPU machine):

    - distributed runs use the gloo backend instead of NCCL;
    - with a launcher, the model is wrapped by
      :class:`CPUDistributedDataParallel`, so ``tools/dist_train.sh CONFIG
      2`` runs two CPU processes (:func:`build_runner` also skips mmengine's
      CUDA device selection while it builds the Runner);
      SyncBN (which torch runs on GPUs only) becomes per-process BN. (A
      single-process run needs nothing: mmengine reverts SyncBN itself.)

    Args:
        cfg (Config): The full config, modified in place.

    Returns:
        Config: ``cfg``.
    """
    add_class_aware_load(cfg)
    checkpoint_hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint_hook is not None and checkpoint_hook.get(
            'type') == 'CheckpointHook':
        # same hook, saves that an interruption cannot leave half-written
        checkpoint_hook.type = 'AtomicCheckpointHook'
    if torch.cuda.is_available():
        return cfg
    if cfg.get('env_cfg') is None:
        cfg.env_cfg = dict()
    if cfg.env_cfg.get('dist_cfg') is None:
        cfg.env_cfg.dist_cfg = dict()
    if cfg.env_cfg.dist_cfg.get('backend', 'nccl') == 'nccl':
        cfg.env_cfg.dist_cfg.backend = 'gloo'
    if cfg.get('launcher', 'none') != 'none':
        sync_bn_to_bn(cfg.model)
        wrapper = cfg.get('model_wrapper_cfg') or {}
        if wrapper.get('type', 'MMDistributedDataParallel') == \
                'MMDistributedDataParallel':
            cfg.model_wrapper_cfg = dict(
                wrapper,
                type='CPUDistributedDataParallel',
                find_unused_parameters=cfg.get('find_unused_parameters',
                                               False))
    return cfg


def add_class_aware_load(cfg: Config) -> Config:
    """Append :class:`ClassAwareLoadHook` to ``cfg.custom_hooks`` when the
    config loads weights (``load_from``) and has none yet, so that
    ``load_from`` a checkpoint of other classes keeps the weights that do
    not depend on them (same classes: nothing changes). Returns ``cfg``."""
    hooks = list(cfg.get('custom_hooks') or [])
    if cfg.get('load_from') and not any(
            h.get('type') == 'ClassAwareLoadHook' for h in hooks):
        cfg.custom_hooks = hooks + [dict(type='ClassAwareLoadHook')]
    return cfg


def check_cpu_amp(cfg: Config) -> None:
    """Refuse bf16 autocast on the CPU for detectors, with the reason.

    mmcv's CPU NMS kernel (used by mmdet's RPN and box head) takes float32
    only, so a detector under CPU bf16 autocast stops inside mmcv with
    ``expected scalar type Float but found BFloat16``. Segmentors have no
    NMS and run; detectors run mixed precision on a GPU (fp16). PointRend's
    own refinement keeps point selection in fp32 under either (tested).
    """
    if cfg.get('default_scope', 'mmdet') != 'mmseg':
        raise SystemExit(
            '--amp without a GPU means bf16 autocast, and mmcv\'s CPU NMS '
            '(mmdet\'s RPN and box head) has no bf16 kernel: run detectors '
            'with --amp on a GPU (fp16), or without --amp on the CPU')


class ResumeError(RuntimeError):
    """No checkpoint to resume from can be read."""


def resolve_resume(cfg: Config) -> Config:
    """Point a resumed run at a checkpoint that can be read.

    With ``cfg.resume`` and no ``load_from`` (``--resume`` without a path),
    the newest intact checkpoint of ``cfg.work_dir`` is chosen
    (:func:`newest_readable_checkpoint`): a damaged newer one (a save that
    was cut short) is skipped with a warning naming it. With an explicit
    ``load_from`` that is damaged, or when every checkpoint of the work dir
    is, :class:`ResumeError` names the files. Without any checkpoint the run
    starts from the beginning, as mmengine does.
    """
    import logging

    from mmengine.logging import print_log

    from mmpointrend.engine import (checkpoint_is_readable,
                                    newest_readable_checkpoint)
    if not cfg.get('resume'):
        return cfg
    if cfg.get('load_from'):
        ok, reason = checkpoint_is_readable(cfg.load_from)
        if not ok:
            raise ResumeError(f'cannot resume from {cfg.load_from}: {reason}')
        return cfg
    path, damaged = newest_readable_checkpoint(cfg.work_dir)
    for bad, reason in damaged:
        print_log(
            f'skipping damaged checkpoint {bad} ({reason})',
            logger='current',
            level=logging.WARNING)
    if path is None and damaged:
        raise ResumeError(f'no readable checkpoint in {cfg.work_dir}: ' +
                          '; '.join(f'{bad} ({reason})'
                                    for bad, reason in damaged))
    if path is not None:
        if damaged:
            print_log(
                f'resuming from {path} instead',
                logger='current',
                level=logging.WARNING)
        cfg.load_from = path
    return cfg


def build_runner(cfg: Config):
    """``Runner.from_cfg`` on :func:`prepare_runner_cfg`'s config, resumed
    from a readable checkpoint (:func:`resolve_resume`); without CUDA,
    mmengine's ``torch.cuda.set_device`` call is skipped while the Runner
    is built (and only then)."""
    from mmengine.runner import Runner
    prepare_runner_cfg(cfg)
    resolve_resume(cfg)
    distributed_on_cpu = (not torch.cuda.is_available()
                          and cfg.get('launcher', 'none') != 'none')
    with (_no_cuda_device_selection()
          if distributed_on_cpu else contextlib.nullcontext()):
        return Runner.from_cfg(cfg)


def finish_distributed() -> None:
    """Destroy the default process group, if a launcher made one, before
    the interpreter exits. Left to interpreter shutdown, gloo's threads are
    torn down in arbitrary order and a rank can abort ("terminate called
    without an active exception", SIGABRT) after its work is done."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
