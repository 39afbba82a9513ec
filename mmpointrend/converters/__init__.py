from .openmmlab import (mmdet_to_mmpointrend, mmpointrend_to_mmdet,
                              mmpointrend_to_mmseg, mmseg_to_mmpointrend)

__all__ = [
    'mmdet_to_mmpointrend', 'mmpointrend_to_mmdet', 'mmseg_to_mmpointrend',
    'mmpointrend_to_mmseg'
]
