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
    every box through the same number of steps. The graphs hold Mask
    R-CNN's single box stage; a cascade host (our
    :class:`PointRendCascadeRoIHead` / :class:`PointRendHTCRoIHead`) is
    refused by name."""
    from mmdet.models.roi_heads import CascadeRoIHead

    from mmpointrend.models.roi_heads import PointRendInstanceRoIHead
    roi_head = getattr(detector, 'roi_head', None)
    if roi_head is None:
        head = getattr(detector, 'bbox_head', None)
        host = type(head).__name__ if head is not None else 'no RoI head'
        raise NotImplementedError(
            f'ONNX export of {type(detector).__name__} ({host}) is not '
            'supported: the exported graphs hold a two-stage detector\'s '
            'RoI head (RPN, box head, RoIAlign); a one-stage host such as '
            "RTMDet-Ins would need its own graph of mmdet's head and "
            'post-processing. Export a PointRendInstanceRoIHead detector, '
            'or run it in PyTorch')
    name = type(roi_head).__name__
    if isinstance(roi_head, CascadeRoIHead):
        raise NotImplementedError(
            f'ONNX export of {name} ({type(detector).__name__}, a cascade '
            'host) is not supported: the exported graph has Mask R-CNN\'s '
            'single box stage. Export a PointRendInstanceRoIHead detector, '
            'or run the cascade in PyTorch')
    if not isinstance(roi_head, PointRendInstanceRoIHead):
        raise TypeError(f'{name} is not a PointRend RoI head '
                        '(PointRendInstanceRoIHead)')
    if roi_head.test_cfg.get('adaptive_resolution'):
        raise ValueError('adaptive_resolution gives each box its own '
                         'number of steps; export with it off')
    return roi_head
