from .detectron2 import (Detectron2FormatError, check_preprocessing,
                         detectron2_to_mmpointrend, load_detectron2_checkpoint)
from .openmmlab import (mmdet_to_mmpointrend, mmpointrend_to_mmdet,
                        mmpointrend_to_mmseg, mmseg_to_mmpointrend)
from .verify import ConversionCheckError, verify_against_config

__all__ = [
    'mmdet_to_mmpointrend', 'mmpointrend_to_mmdet', 'mmseg_to_mmpointrend',
    'mmpointrend_to_mmseg', 'detectron2_to_mmpointrend',
    'load_detectron2_checkpoint', 'check_preprocessing',
    'Detectron2FormatError', 'verify_against_config', 'ConversionCheckError'
]
