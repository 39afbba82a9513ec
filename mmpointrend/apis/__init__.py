from .checks import DataConfigError, check_annotation_file, check_config
from .inference import (checkpoint_dataset_meta, dataset_meta_from_config,
                        init_model, is_semantic_config)
from .runner_utils import (ResumeError, build_runner, check_cpu_amp,
                           finish_distributed, prepare_runner_cfg,
                           resolve_resume)

__all__ = [
    'finish_distributed', 'prepare_runner_cfg', 'build_runner', 'check_config',
    'check_annotation_file', 'DataConfigError', 'init_model',
    'dataset_meta_from_config', 'is_semantic_config',
    'checkpoint_dataset_meta', 'ResumeError', 'resolve_resume', 'check_cpu_amp'
]
