"""Point heads: what predicts the logits at points (paper section 3.3).

Shape shorthand: ``R`` regions, ``P`` points per region, ``C`` fine-grained
channels, ``K`` classes, ``h x w`` a region's coarse prediction.

The seam: the RoI head and the semantic head ask a point head for a
*predictor*, ``predictor(points (R', P, 2), regions (R',)) -> logits (R', K
or 1, P)``, through :meth:`BasePointHead.predictor`, in training and at
inference alike. A point head that only defines :meth:`forward` on sampled
features gets a plain predictor; :class:`PointRendPointHead` puts its
factorised inference behind the same call.
"""
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmpointrend.registry import DET_MODELS, seg_registries
from ..class_layout import ClassAxis
from ..utils import (bilinear_dense, bilinear_gather, channels_last_table,
                     scale_points)
from ..utils.point_features import PointFeatures

#: ``predictor(points (R', P, 2), regions (R',)) -> (R', K or 1, P)``
Predictor = Callable[[Tensor, Tensor], Tensor]


def coarse_at_points(table: Tensor, height: int, width: int, points: Tensor,
                     regions: Tensor) -> Tensor:
    """Rows of a per-region ``h x w`` channels-last table at relative
    points: ``(R', P, 2) -> (R', P, D)``."""
    cell_points = scale_points(points, width, height)
    if torch.onnx.is_in_onnx_export() and int(height) * int(width) <= 1024:
        # small per-box maps (7x7): dense bilinear weights and one bmm
        maps = table.reshape(-1, height * width, table.shape[1])[regions]
        return bilinear_dense(maps, height, width, cell_points)
    return bilinear_gather(table, regions * (height * width), height, width,
                           cell_points)


class BasePointHead(BaseModule):
    """What the PointRend heads need of a point head.

    Subclasses set ``num_classes`` (``K``) and ``in_channels`` (``C``, the
    fine-grained channels they read; the heads check both when they are
    built) and implement :meth:`forward` on features sampled at points. They
    may override :meth:`predictor` (and :meth:`prepare_features`) to predict
    points another way, e.g. without sampling the coarse logits, or
    factorised as :class:`PointRendPointHead` does at inference.
    """

    num_classes: int
    in_channels: int
    #: True where the head predicts one mask per region whatever its class
    #: (a dense host's refiner sets it): its ``num_classes`` (1) is then not
    #: the dataset's, and class-aware loading leaves its weights unmapped
    class_agnostic: bool = False

    def forward(self,
                fine_feats: Tensor,
                coarse_feats: Tensor,
                labels: Optional[Tensor] = None) -> Tensor:
        """``(R, C, P)`` fine features and ``(R, K, P)`` coarse logits ->
        ``(R, K, P)`` logits, or ``(R, 1, P)`` of class ``labels`` (R,)."""
        raise NotImplementedError

    def mask_head_args(self) -> dict:
        """Arguments this point head needs its mask head to be built with
        (the RoI head merges them into ``mask_head``, the config's own
        values first). Defaults to none."""
        return {}

    def bytes_per_point(self, features: PointFeatures) -> int:
        """Memory one predicted point needs at inference (its temporaries),
        for chunking. Defaults to the sampled fine features and coarse
        logits, the concatenated MLP input and the output, in float32."""
        return 4 * 2 * (features.channels + 2 * self.num_classes)

    def prepare_features(self, features: PointFeatures,
                         num_points: int) -> PointFeatures:
        """Called once per batch before :meth:`predictor` at inference
        (``inference=True``) only, with the number of points that will be
        predicted; may return other tables to sample from. Defaults to
        ``features`` unchanged."""
        return features

    def predictor(self,
                  features: PointFeatures,
                  coarse: Tensor,
                  labels: Optional[Tensor] = None,
                  inference: bool = False) -> Predictor:
        """Logits at points of the regions of ``features``.

        Args:
            features (PointFeatures): Fine-grained features of ``R`` regions.
            coarse (Tensor): ``(R, K, h, w)`` coarse logits of each region.
            labels (Tensor, optional): ``(R,)`` the class whose logits are
                wanted; None for all ``K``.
            inference (bool): Predicting for subdivision, no loss on the
                output: a head may then evaluate another way (factorised)
                with the same result. Defaults to False (training).

        Returns:
            Callable: ``predictor(points (R', P, 2), regions (R',)) ->
            (R', K or 1, P)``.
        """
        height, width = coarse.shape[-2:]
        coarse_table = channels_last_table(coarse)

        def predict(points: Tensor, regions: Tensor) -> Tensor:
            fine = features.sample(points, regions)
            coarse_pts = coarse_at_points(coarse_table, height, width, points,
                                          regions)
            return self(
                fine.transpose(1, 2), coarse_pts.transpose(1, 2),
                None if labels is None else labels[regions])

        return predict


class PointRendPointHead(BasePointHead):
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
            nn.init.kaiming_normal_(
                layer.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(layer.bias)
        nn.init.normal_(self.fc_logits.weight, std=0.001)
        nn.init.zeros_(self.fc_logits.bias)

    def class_axes(self) -> dict:
        """Each layer's coarse-logit input columns (after its fine-feature
        or hidden columns) and the predictor's class rows."""
        axes = {}
        for i, layer in enumerate(self.fcs):
            if i == 0 or self.coarse_pred_each_layer:
                axes[f'fcs.{i}.weight'] = [
                    ClassAxis.blocks(
                        1, before=layer.in_channels - self.num_classes)
                ]
        rows = ClassAxis.blocks(0)
        axes['fc_logits.weight'] = [rows]
        if self.coarse_pred_each_layer:
            axes['fc_logits.weight'].append(
                ClassAxis.blocks(
                    1, before=self.fc_logits.in_channels - self.num_classes))
        axes['fc_logits.bias'] = [rows]
        return axes

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
        out = torch.einsum('rd,rdp->rp', weight, x) + bias[:, None]
        return out[:, None]

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
        num, k, height, width = coarse.shape
        rows = coarse.permute(0, 2, 3, 1).reshape(num, height * width, k)
        return self.project_coarse_rows(rows, labels).flatten(0, 1)

    def project_coarse_rows(self, rows: Tensor, labels: Tensor) -> Tensor:
        """:meth:`project_coarse` of ``(R, N, K)`` coarse logits (a map's
        cells or the points) -> ``(R, N, D * L + 1)``."""
        k = self.num_classes
        layers = self.fcs if self.coarse_pred_each_layer else self.fcs[:1]
        weight = torch.cat([fc.weight[:, -k:, 0] for fc in layers])
        hidden = rows @ weight.t()  # (R, N, D * L)
        if self.coarse_pred_each_layer:
            pred = rows @ self.fc_logits.weight[labels, -k:, :]  # (R, N, 1)
        else:
            pred = hidden.new_zeros(hidden.shape[:2] + (1, ))
        return torch.cat([hidden, pred], -1)

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

    def bytes_per_point(self, features: PointFeatures) -> int:
        """Factorised inference: per point the sampled fine features (or
        the projected first layer), the interpolated coarse projections of
        every layer that reads them, and two hidden activations, float32."""
        width = self.fcs[0].out_channels
        layers = len(self.fcs) if self.coarse_pred_each_layer else 1
        return 4 * (features.channels + width * layers + 1 + 2 * width)

    def prepare_features(self, features: PointFeatures,
                         num_points: int) -> PointFeatures:
        """When the points to predict outnumber the cells of the
        fine-grained maps, apply the first layer's fine part to the maps
        once (:meth:`project_fine`) instead of at every point."""
        if num_points <= features.num_cells:
            return features
        return features.map_tables(self.project_fine, tag=self)

    def predictor(self,
                  features: PointFeatures,
                  coarse: Tensor,
                  labels: Optional[Tensor] = None,
                  inference: bool = False) -> Predictor:
        """:meth:`BasePointHead.predictor`; with ``inference`` and
        ``labels`` it evaluates the MLP factorised (see above): the coarse
        parts of every layer on each region's ``h x w`` map, the fine part
        on the tables of :meth:`prepare_features` or on the samples, only
        the row of class ``labels`` of the last layer. Equal to the plain
        MLP up to float rounding. A one-channel coarse map (a class-agnostic
        mask) is projected at the points instead: there the table would
        interpolate ``D * L + 1`` channels per point and cost as many per
        cell, where one channel is interpolated and projected."""
        if labels is None or not inference:
            return super().predictor(features, coarse, labels)
        height, width = coarse.shape[-2:]
        at_points = coarse.shape[1] == 1
        coarse_table = channels_last_table(
            coarse) if at_points else self.project_coarse(coarse, labels)
        projected = features.tag is self

        def predict(points: Tensor, regions: Tensor) -> Tensor:
            levels = features.sample_levels(points, regions)
            if not projected:
                levels = [
                    self.project_fine(f, o)
                    for f, o in zip(levels, features.channel_offsets)
                ]
            first = levels[0]
            for f in levels[1:]:
                first += f
            coarse_pts = coarse_at_points(coarse_table, height, width, points,
                                          regions)
            if at_points:
                coarse_pts = self.project_coarse_rows(coarse_pts,
                                                      labels[regions])
            return self.forward_projected(first, coarse_pts, labels[regions])

        return predict


DET_MODELS.register_module(module=PointRendPointHead)
_SEG_MODELS, _ = seg_registries()
if _SEG_MODELS is not None:
    _SEG_MODELS.register_module(module=PointRendPointHead)
