"""Small config adjustments applied by ``tools/train.py`` and ``test.py``."""
import torch
from mmengine.config import Config


def prepare_runner_cfg(cfg: Config) -> Config:
    """Make a GPU config runnable where there is no GPU.

    NCCL needs CUDA: without a GPU, distributed runs (``tools/dist_train.sh
    CONFIG 2``) switch to the gloo backend. Nothing changes on a GPU machine.

    Args:
        cfg (Config): The full config, modified in place.

    Returns:
        Config: ``cfg``.
    """
    if not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', {})
        dist_cfg = env_cfg.setdefault('dist_cfg', {})
        if dist_cfg.get('backend', 'nccl') == 'nccl':
            dist_cfg['backend'] = 'gloo'
    return cfg
