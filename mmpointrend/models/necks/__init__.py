from .fine_level_neck import FineLevelNeck

__all__ = ['FineLevelNeck']
