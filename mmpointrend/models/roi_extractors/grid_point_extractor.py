"""Bilinear features on a regular grid (or at any points) inside boxes.

Shape shorthand: ``R`` boxes, ``B`` images, ``C`` channels (summed over the
sampled levels), ``P`` points per box, ``S`` grid side.
"""
from typing import List, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..utils import (box_points_to_image_points, regular_grid_points,
                     sample_image_features)


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

    def sample_levels(self, level_maps: Sequence[Tensor], rois: Tensor,
                      rel_points: Tensor) -> List[Tensor]:
        """Sample one map per sampled level at box-relative points.

        Args:
            level_maps (Sequence[Tensor]): One ``(B, C_l, H_l, W_l)`` map per
                entry of ``featmap_indices`` (the levels themselves or maps
                of the same size derived from them).
            rois (Tensor): ``(R, 5)`` as ``(batch_ind, x1, y1, x2, y2)`` in
                input pixels.
            rel_points (Tensor): ``(R, P, 2)`` points in ``[0, 1]`` of boxes.

        Returns:
            list[Tensor]: ``(R, C_l, P)`` per level.
        """
        img_points = box_points_to_image_points(rel_points, rois[:, 1:])
        batch_inds = rois[:, 0].long()
        return [
            sample_image_features(m, batch_inds, img_points, stride)
            for m, stride in zip(level_maps, self.featmap_strides)
        ]

    def sample_points(self, feats: Tuple[Tensor], rois: Tensor,
                      rel_points: Tensor) -> Tensor:
        """Features at box-relative points, levels concatenated.

        Args:
            feats (tuple[Tensor]): Neck outputs, each ``(B, C_l, H_l, W_l)``.
            rois (Tensor): ``(R, 5)`` boxes with batch index.
            rel_points (Tensor): ``(R, P, 2)`` points in ``[0, 1]`` of boxes.

        Returns:
            Tensor: ``(R, C, P)``.
        """
        return torch.cat(
            self.sample_levels(self.levels(feats), rois, rel_points), dim=1)

    def forward(self, feats: Tuple[Tensor], rois: Tensor) -> Tensor:
        """Features on an ``S x S`` grid of cell centres of every box.

        Args:
            feats (tuple[Tensor]): Neck outputs.
            rois (Tensor): ``(R, 5)`` boxes with batch index.

        Returns:
            Tensor: ``(R, C, S, S)``.
        """
        grid = regular_grid_points(rois.shape[0], self.out_size,
                                   device=rois.device)
        point_feats = self.sample_points(feats, rois, grid)
        return point_feats.reshape(rois.shape[0], point_feats.shape[1],
                                   self.out_size, self.out_size)
