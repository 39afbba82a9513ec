"""Point head: a shared MLP over point-wise features (paper section 3.3).

Shape shorthand: ``R`` regions, ``P`` points per region, ``C`` fine-grained
channels, ``K`` classes.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmpointrend.registry import DET_MODELS, seg_registries


class PointRendPointHead(BaseModule):
    """MLP on ``[fine-grained features, K coarse logits]`` at each point.

    Every layer is a 1x1 ``Conv1d`` (one MLP shared by all points and
    regions). With ``coarse_pred_each_layer`` the coarse logits are
    concatenated again to the input of every layer, predictor included, so
    that each layer keeps the region-specific information.

    Used by both the instance RoI head and the semantic decode head.

    Args:
        num_classes (int): ``K``, both the coarse input width and the output
            width.
        in_channels (int): ``C``. Defaults to 256.
        fc_channels (int): Width of the hidden layers. Defaults to 256.
        num_fcs (int): Hidden layers. Defaults to 3.
        coarse_pred_each_layer (bool): Concatenate the coarse logits to every
            layer's input. Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (MSRA fill for hidden layers, N(0, 0.001) for the predictor, as
            detectron2).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 256,
                 fc_channels: int = 256,
                 num_fcs: int = 3,
                 coarse_pred_each_layer: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.coarse_pred_each_layer = coarse_pred_each_layer
        extra = num_classes if coarse_pred_each_layer else 0
        dims_in = [in_channels + num_classes] + [fc_channels + extra] * num_fcs
        self.fcs = nn.ModuleList(
            nn.Conv1d(d, fc_channels, 1) for d in dims_in[:-1])
        self.fc_logits = nn.Conv1d(dims_in[-1], num_classes, 1)

    def init_weights(self) -> None:
        """MSRA fill for hidden layers, small normal for the predictor."""
        super().init_weights()
        if self.init_cfg is not None:
            return
        for layer in self.fcs:
            nn.init.kaiming_normal_(layer.weight, mode='fan_out',
                                    nonlinearity='relu')
            nn.init.zeros_(layer.bias)
        nn.init.normal_(self.fc_logits.weight, std=0.001)
        nn.init.zeros_(self.fc_logits.bias)

    def forward(self,
                fine_feats: Tensor,
                coarse_feats: Tensor,
                labels: Optional[Tensor] = None) -> Tensor:
        """Point logits.

        Args:
            fine_feats (Tensor): ``(R, C, P)`` fine-grained features.
            coarse_feats (Tensor): ``(R, K, P)`` coarse logits at the points.
            labels (Tensor, optional): ``(R,)`` class of each region. When
                given, only that class's row of the predictor is computed
                (instance segmentation needs one channel per box; this skips
                ``K - 1`` of the ``K`` output rows). Defaults to None.

        Returns:
            Tensor: ``(R, K, P)`` logits, or ``(R, 1, P)`` with ``labels``.
        """
        if fine_feats.shape[1] != self.in_channels or \
                coarse_feats.shape[1] != self.num_classes:
            raise ValueError(
                f'{type(self).__name__} expects ({self.in_channels}) fine and '
                f'({self.num_classes}) coarse channels, got '
                f'{fine_feats.shape[1]} and {coarse_feats.shape[1]}')
        x = torch.cat([fine_feats, coarse_feats], dim=1)
        for fc in self.fcs:
            x = F.relu(fc(x))
            if self.coarse_pred_each_layer:
                x = torch.cat([x, coarse_feats], dim=1)
        if labels is None:
            return self.fc_logits(x)
        weight = self.fc_logits.weight[labels, :, 0]  # (R, D)
        bias = self.fc_logits.bias[labels]  # (R,)
        return (torch.einsum('rd,rdp->rp', weight, x) + bias[:, None])[:,
                                                                        None]


    # ------------------------------------------------------------------
    # Factorised evaluation for inference.
    #
    # Every layer is linear in its coarse input, and the first layer is
    # linear in the fine-grained input; bilinear interpolation is linear too.
    # So those parts of the layers can be applied to the maps *before* they
    # are interpolated at the points: to each region's small coarse map once
    # (instead of at every point), and to the fine-grained map once (instead
    # of at every point, which pays when the points outnumber the map's
    # cells). The result equals :meth:`forward` up to float rounding.
    # ------------------------------------------------------------------
    def project_fine(self, table: Tensor, channel_offset: int = 0) -> Tensor:
        """First layer's fine-grained part applied to a feature table.

        Args:
            table (Tensor): ``(T, C_l)`` channels-last rows of one
                fine-grained level (``channels_last_table``), or ``(R, P,
                C)`` features already sampled at points.
            channel_offset (int): Where this level's channels start in the
                concatenated fine-grained input. Defaults to 0.

        Returns:
            Tensor: ``(T, D)`` (or ``(R, P, D)``), ``D`` the hidden width.
        """
        weight = self.fcs[0].weight[:, channel_offset:channel_offset +
                                    table.shape[-1], 0]
        return table @ weight.t()

    def project_coarse(self, coarse: Tensor, labels: Tensor) -> Tensor:
        """Coarse part of every layer applied to each region's coarse map.

        Args:
            coarse (Tensor): ``(R, K, h, w)`` coarse logits.
            labels (Tensor): ``(R,)`` class whose output row is needed.

        Returns:
            Tensor: ``(R * h * w, D * L + 1)`` channels-last table (region
            ``r``'s map starts at row ``r * h * w``): for each of the ``L``
            layers that see the coarse logits its ``D`` projected channels,
            then the predictor's row of class ``labels`` (zero without
            ``coarse_pred_each_layer``).
        """
        k = self.num_classes
        layers = self.fcs if self.coarse_pred_each_layer else self.fcs[:1]
        weight = torch.cat([fc.weight[:, -k:, 0] for fc in layers])
        rows = coarse.permute(0, 2, 3, 1).reshape(coarse.shape[0], -1, k)
        hidden = rows @ weight.t()  # (R, h * w, D * L)
        if self.coarse_pred_each_layer:
            pred = rows @ self.fc_logits.weight[labels, -k:, :]  # (R, hw, 1)
        else:
            pred = hidden.new_zeros(hidden.shape[:2] + (1, ))
        return torch.cat([hidden, pred], -1).flatten(0, 1)

    def forward_projected(self, first: Tensor, coarse_proj: Tensor,
                          labels: Tensor) -> Tensor:
        """:meth:`forward` with ``labels``, from projected inputs.

        Args:
            first (Tensor): ``(R, P, D)`` the first layer's fine-grained part
                at the points (:meth:`project_fine` before or after
                interpolation); overwritten.
            coarse_proj (Tensor): ``(R, P, D * L + 1)``, the
                :meth:`project_coarse` table interpolated at the points.
            labels (Tensor): ``(R,)``.

        Returns:
            Tensor: ``(R, 1, P)`` logits, equal to ``forward(fine, coarse,
            labels)`` up to float rounding.
        """
        num_regions, num_points, width = first.shape
        # in place: ``first`` is a temporary of the caller's
        x = first.add_(coarse_proj[..., :width]).add_(self.fcs[0].bias)
        x = F.relu_(x).reshape(-1, width)
        coarse_proj = coarse_proj.reshape(-1, coarse_proj.shape[-1])
        for i, fc in enumerate(self.fcs[1:], 1):
            x = torch.addmm(fc.bias, x, fc.weight[:, :width, 0].t())
            if self.coarse_pred_each_layer:
                x += coarse_proj[:, i * width:(i + 1) * width]
            x = F.relu_(x)
        x = x.reshape(num_regions, num_points, width)
        row = self.fc_logits.weight[labels, :width, :]  # (R, D, 1)
        out = torch.bmm(x, row)[..., 0] + coarse_proj[:, -1].reshape(
            num_regions, num_points)
        return (out + self.fc_logits.bias[labels][:, None])[:, None]


DET_MODELS.register_module(module=PointRendPointHead)
_SEG_MODELS, _ = seg_registries()
if _SEG_MODELS is not None:
    _SEG_MODELS.register_module(module=PointRendPointHead)
