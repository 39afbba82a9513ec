from .checks import DataConfigError, check_annotation_file, check_config
from .runner_utils import prepare_runner_cfg

__all__ = [
    'prepare_runner_cfg', 'check_config', 'check_annotation_file',
    'DataConfigError'
]
