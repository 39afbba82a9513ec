# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Semantic PointRend decode head for MMSegmentation (paper section 5).

Shape shorthand: ``B`` images, ``K`` classes, ``C`` fine-grained channels,
``P`` points per image, ``h x w`` the coarse prediction, ``H x W`` the
(padded) input.
"""
from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmpointrend.registry import seg_registries
from ..checks import check_keys
from ..uncertainty import build_uncertainty
from ..utils import (PointFeatures, StepCallback, all_regions,
                     sample_training_points, subdivide)

SEG_MODELS, _ = seg_registries()

# Keys the head reads from the segmentor's train_cfg / test_cfg beside
# mmseg's own; anything else is reported as a likely typo.
_TRAIN_KEYS = {'num_points', 'oversample_ratio', 'importance_sample_ratio'}
_TEST_KEYS = {
    'mode', 'crop_size', 'stride', 'subdivision_num_points',
    'subdivision_steps', 'scale_factor'
}


class PointRendSemanticHead(BaseModule):
    """PointRend as the second head of ``CascadeEncoderDecoder``.

    The first head (SemanticFPN's ``FPNHead``, DeepLabV3's ``ASPPHead``, ...)
    gives the coarse ``K``-class prediction; this head refines it with the
    shared :class:`PointRendPointHead` MLP over fine-grained features
    (``in_index`` levels of the backbone / neck, e.g. P2 or res2) and the
    coarse logits at each point. Uncertainty is the margin between the top
    two class scores (:func:`margin_uncertainty`), in training and inference.

    Training (``train_cfg``): ``num_points`` per image by importance sampling
    (``oversample_ratio`` k, ``importance_sample_ratio`` beta), computed in
    fp32 even under mixed precision; points on ``ignore_index`` do not count.
    Inference (``test_cfg``): subdivision with ``subdivision_num_points``
    points per step and image, all images at once; ``subdivision_steps``
    steps of ``scale_factor`` (as MMSegmentation), or, when it is None, as
    many as it takes to reach the (padded) input resolution, the last one
    landing on it exactly.

    Args:
        num_classes (int): ``K``.
        in_channels (Sequence[int]): Channels of the fine-grained levels.
            Defaults to ``(256, )``.
        in_index (Sequence[int]): Which backbone / neck outputs they are.
            Defaults to ``(0, )``.
        channels (int): Hidden width of the MLP. Defaults to 256.
        num_fcs (int): Hidden layers. Defaults to 3.
        coarse_pred_each_layer (bool): See :class:`PointRendPointHead`.
            Defaults to True.
        point_head (dict, optional): Config of another point head (any
            :class:`BasePointHead` in mmseg's ``MODELS``); ``num_classes``
            and ``in_channels`` are filled in when absent. Defaults to None
            (a :class:`PointRendPointHead` from ``channels``, ``num_fcs`` and
            ``coarse_pred_each_layer``).
        uncertainty (str): Registered name (mmengine ``FUNCTIONS``) of the
            point-selection measure. Defaults to 'margin_uncertainty'.
        ignore_index (int): Label ignored by the loss. Defaults to 255.
        align_corners (bool): Must be False: points follow ``grid_sample``'s
            ``align_corners=False`` convention. Kept for the segmentor, which
            reads it. Defaults to False.
        loss_decode (dict): Point loss, called as ``loss(logits (B, K, P),
            labels (B, P), ignore_index=...)``. Defaults to cross-entropy.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int] = (256, ),
                 in_index: Sequence[int] = (0, ),
                 channels: int = 256,
                 num_fcs: int = 3,
                 coarse_pred_each_layer: bool = True,
                 point_head: Optional[dict] = None,
                 uncertainty: str = 'margin_uncertainty',
                 ignore_index: int = 255,
                 align_corners: bool = False,
                 loss_decode: dict = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=False,
                     loss_weight=1.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if align_corners:
            raise ValueError('PointRendSemanticHead samples points with '
                             'align_corners=False; set align_corners=False '
                             'on both heads of the CascadeEncoderDecoder')
        in_channels, in_index = list(in_channels), list(in_index)
        if len(in_channels) != len(in_index):
            raise ValueError(f'in_channels {in_channels} and in_index '
                             f'{in_index} must have one entry per level')
        self.in_channels = in_channels
        self.in_index = in_index
        self._decode_head_contract(num_classes, ignore_index)
        if point_head is None:
            point_head = dict(
                type='PointRendPointHead',
                fc_channels=channels,
                num_fcs=num_fcs,
                coarse_pred_each_layer=coarse_pred_each_layer)
        point_head = dict(point_head)
        point_head.setdefault('num_classes', num_classes)
        point_head.setdefault('in_channels', sum(in_channels))
        self.point_head = SEG_MODELS.build(point_head)
        if (self.point_head.num_classes, self.point_head.in_channels) != (
                num_classes, sum(in_channels)):
            raise ValueError(
                f'point_head has num_classes={self.point_head.num_classes}, '
                f'in_channels={self.point_head.in_channels}; the head needs '
                f'{num_classes} and {sum(in_channels)}')
        self.uncertainty = build_uncertainty(uncertainty)
        self.loss_decode = SEG_MODELS.build(loss_decode)

    def _decode_head_contract(self, num_classes: int,
                              ignore_index: int) -> None:
        """The attributes mmseg's segmentors read from their last decode
        head, in one place.

        Why not subclass mmseg's ``BaseCascadeDecodeHead`` (as its
        ``PointHead`` does)? Its ``__init__`` builds a ``conv_seg``
        classifier, a dropout and ``channels``-wide layers this head has no
        use for (``PointHead`` then deletes ``conv_seg``), and its
        ``predict`` / ``loss_by_feat`` assume a dense ``forward``, which a
        point head does not have. Composition keeps the head to what it
        does; ``EncoderDecoder`` / ``CascadeEncoderDecoder`` (mmseg 1.2.2)
        only call ``loss`` / ``predict`` and read these attributes:
        ``num_classes`` and ``out_channels`` (``postprocess_result``),
        ``align_corners`` (resizing the logits; always False here, points
        follow ``grid_sample``'s ``align_corners=False``), ``threshold``
        (used by mmseg only when ``out_channels == 1``; its default) and
        ``ignore_index``.
        """
        self.num_classes = num_classes
        self.out_channels = num_classes
        self.align_corners = False
        self.threshold = 0.3
        self.ignore_index = ignore_index

    def _fine(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        feats = [inputs[i] for i in self.in_index]
        got = [f.shape[1] for f in feats]
        if got != self.in_channels:
            raise ValueError(f'PointRendSemanticHead expects in_channels '
                             f'{self.in_channels} at in_index '
                             f'{self.in_index}, got {got}')
        return feats

    def forward(self, inputs: Sequence[Tensor], prev_output: Tensor):
        """Not used: the head predicts through :meth:`predict`."""
        raise NotImplementedError(
            'PointRendSemanticHead has no dense forward; use it as the last '
            'head of CascadeEncoderDecoder (loss / predict)')

    def loss(self, inputs: Sequence[Tensor], prev_output: Tensor,
             batch_data_samples: list, train_cfg: dict, **kwargs) -> dict:
        """Point loss on importance-sampled points.

        Args:
            inputs (Sequence[Tensor]): Backbone / neck outputs.
            prev_output (Tensor): ``(B, K, h, w)`` coarse logits.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            train_cfg (dict): ``num_points``, ``oversample_ratio``,
                ``importance_sample_ratio``.

        Returns:
            dict: ``loss_point`` and ``acc_point``.
        """
        from mmseg.models.losses import accuracy
        check_keys(train_cfg, _TRAIN_KEYS,
                   "the segmentor's train_cfg (PointRendSemanticHead)")
        fine = self._fine(inputs)
        # Point selection and sampling in fp32, also under autocast.
        with torch.autocast(
                device_type=prev_output.device.type, enabled=False):
            coarse = prev_output.float()
            with torch.no_grad():
                points = self.choose_points(coarse.detach(), train_cfg)
            predict = self.point_head.predictor(
                PointFeatures([f.float() for f in fine]), coarse)
            logits = predict(points, all_regions(len(coarse), coarse.device))
        gt = torch.stack([s.gt_sem_seg.data
                          for s in batch_data_samples])  # (B, 1, H, W)
        labels = self._point_labels(gt, points)
        loss = self.loss_decode(logits, labels, ignore_index=self.ignore_index)
        return dict(
            loss_point=loss,
            acc_point=accuracy(logits, labels, ignore_index=self.ignore_index))

    def choose_points(self, coarse: Tensor, train_cfg: dict) -> Tensor:
        """``(B, P, 2)`` training points in ``[0, 1]^2`` of the (padded)
        input: importance sampling on the ``(B, K, h, w)`` coarse logits."""
        return sample_training_points(coarse, self.uncertainty,
                                      train_cfg['num_points'],
                                      train_cfg['oversample_ratio'],
                                      train_cfg['importance_sample_ratio'])

    @staticmethod
    def _point_labels(gt: Tensor, rel_points: Tensor) -> Tensor:
        """Label of the pixel under each point: ``(B, 1, H, W)`` ->
        ``(B, P)`` (nearest, like ``grid_sample(mode='nearest')``)."""
        num_imgs, _, height, width = gt.shape
        xs = (rel_points[..., 0] * width).long().clamp(0, width - 1)
        ys = (rel_points[..., 1] * height).long().clamp(0, height - 1)
        flat = gt.reshape(num_imgs, -1)
        return torch.gather(flat, 1, ys * width + xs).long()

    def predict(self,
                inputs: Sequence[Tensor],
                prev_output: Tensor,
                batch_img_metas: List[dict],
                test_cfg: dict,
                on_step: Optional[StepCallback] = None,
                **kwargs) -> Tensor:
        """Subdivision inference, all images of the batch at once.

        Args:
            inputs (Sequence[Tensor]): Backbone / neck outputs.
            prev_output (Tensor): ``(B, K, h, w)`` coarse logits.
            batch_img_metas (list[dict]): With ``pad_shape`` or
                ``img_shape``.
            test_cfg (dict): ``subdivision_num_points``, ``scale_factor``
                and ``subdivision_steps`` (None: up to the input size).
            on_step (Callable, optional): Called with each step's record
                (see :func:`subdivision_step`).

        Returns:
            Tensor: ``(B, K, H, W)`` logits at the (padded) input size.
        """
        from mmseg.models.utils import resize
        meta = batch_img_metas[0]
        # mmseg's BaseDecodeHead.predict_by_feat rule: slide inference
        # passes each crop's size as a torch.Size, whole inference the
        # padded input's pad_shape
        if isinstance(meta['img_shape'], torch.Size):
            size = tuple(meta['img_shape'])
        else:
            size = tuple(meta.get('pad_shape', meta['img_shape'])[:2])
        check_keys(test_cfg, _TEST_KEYS,
                   "the segmentor's test_cfg (PointRendSemanticHead)")
        predict_points = self.point_head.predictor(
            PointFeatures(self._fine(inputs)), prev_output, inference=True)
        # point selection (uncertainty, top-k) in fp32 under mixed precision
        logits = subdivide(
            prev_output.float(),
            predict_points,
            self.uncertainty,
            test_cfg.get('subdivision_steps'),
            test_cfg['subdivision_num_points'],
            test_cfg.get('scale_factor', 2),
            on_step=on_step,
            target=size)
        if torch.onnx.is_in_onnx_export() or \
                tuple(logits.shape[-2:]) != size:  # (identity if equal)
            logits = resize(
                logits, size=size, mode='bilinear', align_corners=False)
        return logits


if SEG_MODELS is not None:
    SEG_MODELS.register_module(module=PointRendSemanticHead)
