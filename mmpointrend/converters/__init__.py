from .mmdet_pointrend import mmdet_to_mmpointrend, mmpointrend_to_mmdet

__all__ = ['mmdet_to_mmpointrend', 'mmpointrend_to_mmdet']
