"""Bilinear features on a regular grid (or at any points) inside boxes.

Shape shorthand: ``R`` boxes, ``B`` images, ``C`` channels (summed over the
sampled levels), ``P`` points per box, ``S`` grid side.
"""
from typing import List, Optional, Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..utils import regular_grid_points
from ..utils.point_features import PointFeatures, all_regions


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

    def point_features(self, feats: Tuple[Tensor],
                       rois: Tensor) -> PointFeatures:
        """The sampled levels as :class:`PointFeatures` of the boxes
        ``rois`` (``(R, 5)``: batch index, ``x1, y1, x2, y2`` in input
        pixels), laid out channels-last once for every later read."""
        return PointFeatures(self.levels(feats), self.featmap_strides, rois)

    def forward(self,
                feats: Tuple[Tensor],
                rois: Tensor,
                features: Optional[PointFeatures] = None) -> Tensor:
        """Features on an ``S x S`` grid of cell centres of every box.

        Args:
            feats (tuple[Tensor]): Neck outputs, each ``(B, C_l, H_l, W_l)``.
            rois (Tensor): ``(R, 5)`` boxes with batch index.
            features (PointFeatures, optional): :meth:`point_features` of
                ``feats`` and ``rois``, when the caller has it.

        Returns:
            Tensor: ``(R, C, S, S)``.
        """
        if features is None:
            features = self.point_features(feats, rois)
        num_rois = rois.shape[0]
        grid = regular_grid_points(num_rois, self.out_size, device=rois.device)
        point_feats = features.sample(grid, all_regions(num_rois, rois.device))
        return point_feats.transpose(1,
                                     2).reshape(num_rois, features.channels,
                                                self.out_size, self.out_size)
