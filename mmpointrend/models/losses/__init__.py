from .point_sampled_mask_loss import PointSampledMaskLoss

__all__ = ['PointSampledMaskLoss']
