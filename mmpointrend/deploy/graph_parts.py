"""Pieces every exported graph uses: the data preprocessor's normalisation
in the graph, and the check that a detector's RoI head can be exported.
(Its own module so that the graph modules import it and not each other.)"""
from torch import Tensor, nn


class Normalise(nn.Module):
    """The data preprocessor's channel swap and mean / std, in the graph."""

    def __init__(self, data_preprocessor):
        super().__init__()
        self.register_buffer(
            'mean',
            data_preprocessor.mean.detach().clone().reshape(1, -1, 1, 1))
        self.register_buffer(
            'std',
            data_preprocessor.std.detach().clone().reshape(1, -1, 1, 1))
        # mmengine's ImgDataPreprocessor (mmdet) and mmseg's
        # SegDataPreProcessor name the flag differently
        self.swap = bool(
            getattr(data_preprocessor, '_channel_conversion', False)
            or getattr(data_preprocessor, 'channel_conversion', False))

    def forward(self, img: Tensor) -> Tensor:
        if self.swap:
            img = img[:, [2, 1, 0]]
        return (img - self.mean) / self.std


def pointrend_roi_head(detector):
    """The detector's RoI head, if it is ours and exportable: a graph runs
    every box through the same number of steps."""
    roi_head = getattr(detector, 'roi_head', None)
    if not hasattr(roi_head, 'refine_chunk'):
        raise TypeError(f'{type(roi_head).__name__} is not a PointRend RoI '
                        'head (PointRendInstanceRoIHead)')
    if roi_head.test_cfg.get('adaptive_resolution'):
        raise ValueError('adaptive_resolution gives each box its own '
                         'number of steps; export with it off')
    return roi_head
