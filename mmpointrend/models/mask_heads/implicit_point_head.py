# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""Implicit PointRend's point head (Cheng, Parkhi, Kirillov, "Pointly-
Supervised Instance Segmentation", CVPR 2022): a per-instance MLP whose
weights a parameter head predicts from the box features.

Shape shorthand: ``R`` boxes, ``P`` points per box, ``C`` fine-grained
channels, ``D`` the MLP width, ``K`` classes, ``N`` parameters per box.
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..utils.point_features import PointFeatures
from .point_head import BasePointHead, Predictor


@DET_MODELS.register_module()
class PointRendImplicitPointHead(BasePointHead):
    """A dynamic MLP per box over ``[positional encoding, fine features]``.

    The point's input is a 256-d random Fourier encoding of its box-relative
    position (``sin`` / ``cos`` of ``2 pi (2p - 1) G`` with a fixed Gaussian
    ``G`` of shape ``(2, 128)``) followed by the fine-grained features at
    the point. The MLP has ``num_layers`` layers (ReLU between them), all of
    whose weights and biases come from the box's parameter vector
    (:class:`PointRendParameterHead`), laid out as detectron2's: every
    layer's weight ``(out, in)`` row-major, then every layer's bias. There is
    no coarse prediction.

    Args:
        num_classes (int): ``K`` outputs of the last layer.
        in_channels (int): ``C`` fine-grained channels. Defaults to 256.
        channels (int): ``D`` width of the hidden layers. Defaults to 256.
        num_layers (int): Layers, the output layer included. Defaults to 4.
        image_feature_enabled (bool): Read the fine-grained features.
            Defaults to True.
        pos_enc_enabled (bool): Read the positional encoding. Defaults to
            True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 256,
                 channels: int = 256,
                 num_layers: int = 4,
                 image_feature_enabled: bool = True,
                 pos_enc_enabled: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 2:
            raise ValueError(f'num_layers must be >= 2, got {num_layers}')
        if not (image_feature_enabled or pos_enc_enabled):
            raise ValueError('the implicit point head needs image features, '
                             'positional encoding or both')
        self.num_classes = num_classes
        self.in_channels = in_channels  # what the heads check and sample
        self.channels = channels
        self.image_feature_enabled = image_feature_enabled
        self.pos_enc_enabled = pos_enc_enabled
        mlp_in = (in_channels if image_feature_enabled else
                  0) + (256 if pos_enc_enabled else 0)
        if pos_enc_enabled:
            # a fixed random matrix, stored with the weights (a buffer)
            self.register_buffer('positional_encoding_gaussian_matrix',
                                 torch.randn(2, 128))
        dims = [mlp_in] + [channels] * (num_layers - 1) + [num_classes]
        #: ``(out, in)`` of every layer
        self.layer_shapes: List[Tuple[int,
                                      int]] = list(zip(dims[1:], dims[:-1]))
        self.num_params = sum(o * i + o for o, i in self.layer_shapes)

    def mask_head_args(self) -> dict:
        """The parameter head predicts this head's ``num_params`` MLP
        weights per box, laid out as :attr:`param_class_parts`."""
        return dict(
            num_params=self.num_params,
            param_class_parts=self.param_class_parts)

    @property
    def param_class_parts(self) -> tuple:
        """How the parameter vector depends on the classes
        (:class:`ClassAxis` parts): every layer's weight, then every bias;
        only the last layer's ``K`` weight rows (``D`` each) and ``K``
        biases are per class."""
        (_, d), hidden = self.layer_shapes[-1], self.layer_shapes[:-1]
        return (('fixed', sum(o * i for o, i in hidden)), ('classes', d),
                ('fixed', sum(o for o, _ in hidden)), ('classes', 1))

    def _split(self, params: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """``(R, N)`` -> per layer weights ``(R, out, in)`` and biases
        ``(R, out, 1)``."""
        if params.shape[1] != self.num_params:
            raise ValueError(f'{type(self).__name__} expects {self.num_params}'
                             f' parameters per box, got {params.shape[1]}')
        sizes = [o * i for o, i in self.layer_shapes
                 ] + [o for o, _ in self.layer_shapes]
        parts = params.split(sizes, dim=1)
        num = len(self.layer_shapes)
        weights = [
            w.reshape(-1, o, i)
            for w, (o, i) in zip(parts[:num], self.layer_shapes)
        ]
        biases = [b[..., None] for b in parts[num:]]
        return weights, biases

    def _inputs(self, fine: Optional[Tensor], points: Tensor) -> Tensor:
        """``(R, C, P)`` features and ``(R, P, 2)`` points -> the MLP input
        ``(R, C_in, P)``: positional encoding first, as detectron2."""
        parts = []
        if self.pos_enc_enabled:
            gaussian = self.positional_encoding_gaussian_matrix
            angles = 2 * math.pi * ((2 * points - 1) @ gaussian)
            parts.append(
                torch.cat([angles.sin(), angles.cos()], -1).transpose(1, 2))
        if self.image_feature_enabled:
            parts.append(fine)
        return parts[0] if len(parts) == 1 else torch.cat(parts, 1)

    def mlp(self,
            x: Tensor,
            params: Tensor,
            labels: Optional[Tensor] = None) -> Tensor:
        """The boxes' MLPs on ``(R, C_in, P)`` inputs.

        Returns:
            Tensor: ``(R, K, P)``, or ``(R, 1, P)`` of class ``labels``
            (only that row of the last layer is computed).
        """
        weights, biases = self._split(params)
        last = len(weights) - 1
        for i, (w, b) in enumerate(zip(weights, biases)):
            if i == last and labels is not None:  # only the wanted row
                rows = torch.arange(len(labels), device=labels.device)
                w, b = w[rows, labels][:, None], b[rows, labels][:, None]
            x = torch.bmm(w, x) + b
            if i < last:
                x = F.relu(x)
        return x

    def forward(self,
                fine_feats: Tensor,
                points: Tensor,
                params: Tensor,
                labels: Optional[Tensor] = None) -> Tensor:
        """Point logits.

        Args:
            fine_feats (Tensor): ``(R, C, P)`` fine-grained features.
            points (Tensor): ``(R, P, 2)`` box-relative points.
            params (Tensor): ``(R, N)`` each box's MLP parameters.
            labels (Tensor, optional): ``(R,)`` class whose row is wanted.

        Returns:
            Tensor: ``(R, K, P)`` or ``(R, 1, P)``.
        """
        if len(params) == 0:
            return params.new_zeros(
                (0, 1 if labels is not None else self.num_classes,
                 points.shape[1]))
        return self.mlp(self._inputs(fine_feats, points), params, labels)

    def bytes_per_point(self, features: PointFeatures) -> int:
        """The MLP input and two hidden activations, float32."""
        return 4 * (features.channels + 256 + 2 * self.channels)

    def predictor(self,
                  features: PointFeatures,
                  coarse: Tensor,
                  labels: Optional[Tensor] = None,
                  inference: bool = False) -> Predictor:
        """The seam for a head without a coarse prediction: ``coarse`` is
        the ``(R, N)`` parameters of the boxes' MLPs."""

        def predict(points: Tensor, regions: Tensor) -> Tensor:
            fine = None
            if self.image_feature_enabled:
                fine = features.sample(points, regions).transpose(1, 2)
            return self(fine, points, coarse[regions],
                        None if labels is None else labels[regions])

        return predict
