"""Bilinear features on a regular grid (or at any points) inside boxes.

Shape shorthand: ``R`` boxes, ``B`` images, ``C`` channels (summed over the
sampled levels), ``P`` points per box, ``S`` grid side.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..utils import (box_points_to_image_points, channels_last_table,
                     regular_grid_points, sample_image_features)


@DET_MODELS.register_module()
class PointRendGridExtractor(BaseModule):
    """Sample FPN levels bilinearly at points inside boxes.

    The coarse head reads an ``S x S`` regular grid of each box (paper section
    4: "a simple version of RoIAlign", one sample per cell, no pooling); the
    point head reads arbitrary points. Both go through the same batched
    sampler, with no loop over images.

    Args:
        featmap_strides (Sequence[int]): Strides of the sampled levels, one per
            entry of ``featmap_indices``. Defaults to ``(4, )`` (P2).
        featmap_indices (Sequence[int]): Indices into the neck's outputs of
            the sampled levels; their features are concatenated. Defaults to
            ``(0, )``.
        out_size (int): ``S`` of the regular grid of :meth:`forward`.
            Defaults to 14.
        out_channels (int): Channels per level, for sanity checks only.
            Defaults to 256.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 featmap_strides: Sequence[int] = (4, ),
                 featmap_indices: Sequence[int] = (0, ),
                 out_size: int = 14,
                 out_channels: int = 256,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(featmap_strides) != len(featmap_indices):
            raise ValueError(
                'featmap_strides and featmap_indices must have one entry per '
                f'sampled level, got {list(featmap_strides)} and '
                f'{list(featmap_indices)}')
        self.featmap_strides = tuple(float(s) for s in featmap_strides)
        self.featmap_indices = tuple(int(i) for i in featmap_indices)
        self.out_size = int(out_size)
        self.out_channels = out_channels

    @property
    def num_inputs(self) -> int:
        """int: How many neck outputs the extractor reads (for mmdet)."""
        return max(self.featmap_indices) + 1

    def levels(self, feats: Tuple[Tensor]) -> List[Tensor]:
        """The sampled levels of the neck outputs, in channel order."""
        return [feats[i] for i in self.featmap_indices]

    def tables(self, feats: Tuple[Tensor]) -> List[Tensor]:
        """Channels-last tables of the sampled levels (one copy each), for
        callers that sample the same features several times."""
        return [channels_last_table(m) for m in self.levels(feats)]

    def sample_points(self,
                      feats: Tuple[Tensor],
                      rois: Tensor,
                      rel_points: Tensor,
                      tables: Optional[List[Tensor]] = None) -> Tensor:
        """Features at box-relative points, levels concatenated.

        Args:
            feats (tuple[Tensor]): Neck outputs, each ``(B, C_l, H_l, W_l)``.
            rois (Tensor): ``(R, 5)`` as ``(batch_ind, x1, y1, x2, y2)`` in
                input pixels.
            rel_points (Tensor): ``(R, P, 2)`` points in ``[0, 1]`` of boxes.
            tables (list[Tensor], optional): :meth:`tables` of ``feats``,
                built here when not given. Defaults to None.

        Returns:
            Tensor: ``(R, C, P)``.
        """
        if tables is None:
            tables = self.tables(feats)
        img_points = box_points_to_image_points(rel_points, rois[:, 1:])
        batch_inds = rois[:, 0].long()
        return torch.cat([
            sample_image_features(m, batch_inds, img_points, stride, table=t)
            for m, t, stride in zip(
                self.levels(feats), tables, self.featmap_strides)
        ], dim=1)

    def forward(self,
                feats: Tuple[Tensor],
                rois: Tensor,
                tables: Optional[List[Tensor]] = None) -> Tensor:
        """Features on an ``S x S`` grid of cell centres of every box.

        Args:
            feats (tuple[Tensor]): Neck outputs.
            rois (Tensor): ``(R, 5)`` boxes with batch index.
            tables (list[Tensor], optional): See :meth:`sample_points`.

        Returns:
            Tensor: ``(R, C, S, S)``.
        """
        grid = regular_grid_points(rois.shape[0], self.out_size,
                                   device=rois.device)
        point_feats = self.sample_points(feats, rois, grid, tables)
        return point_feats.reshape(rois.shape[0], point_feats.shape[1],
                                   self.out_size, self.out_size)
