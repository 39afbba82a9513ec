"""Fine-grained feature maps read at region-relative points.

Shape shorthand: ``B`` images, ``R`` regions, ``P`` points per region,
``C_l`` channels of level ``l``, ``C`` their sum.

A :class:`PointFeatures` holds the maps a point head reads (P2 for instance
segmentation, P2 / res2 for semantic segmentation) laid out once as
channels-last tables, and the regions the points are relative to: boxes
(instance) or whole images (semantic). Point heads only ever ask it for
``(R', P, C)`` features of ``points`` of ``regions``; how regions map to
feature cells stays here.
"""
from typing import Callable, List, Optional, Sequence

import torch
from torch import Tensor

from .point_grids import box_points_to_image_points
from .point_sampling import (bilinear_gather, channels_last_table,
                             sample_image_features, scale_points)


class PointFeatures:
    """Feature maps of a batch, sampled at region-relative points.

    Args:
        maps (Sequence[Tensor]): Levels ``(B, C_l, H_l, W_l)``; their
            channels are concatenated in this order.
        strides (Sequence[float], optional): Input pixels per cell of each
            level. Needed with ``boxes``.
        boxes (Tensor, optional): ``(R, 5)`` regions as ``(batch_ind, x1, y1,
            x2, y2)`` in input pixels. None: region ``r`` is the whole image
            ``r`` (points relative to each map's extent). Defaults to None.
        tables (list[Tensor], optional): ``channels_last_table`` of each map
            (or a row-wise transform of it), when the caller has them.
        tag (object, optional): What transformed the tables (see
            :meth:`map_tables`); None for the maps' own features.
    """

    def __init__(self,
                 maps: Sequence[Tensor],
                 strides: Optional[Sequence[float]] = None,
                 boxes: Optional[Tensor] = None,
                 tables: Optional[List[Tensor]] = None,
                 tag: object = None) -> None:
        if boxes is not None and strides is None:
            raise ValueError('PointFeatures with boxes needs the strides')
        self.maps = list(maps)
        self.strides = None if strides is None else [float(s) for s in strides]
        self.boxes = boxes
        self.tag = tag
        self.tables = tables if tables is not None else [
            channels_last_table(m) for m in self.maps
        ]
        offsets = [0]
        for m in self.maps:
            offsets.append(offsets[-1] + m.shape[1])
        #: first channel of each level in the concatenated features
        self.channel_offsets = offsets[:-1]
        #: ``C``, the concatenated channels of the maps
        self.channels = offsets[-1]

    @property
    def num_cells(self) -> int:
        """int: Cells of all levels and images (rows of the tables)."""
        return sum(int(t.shape[0]) for t in self.tables)

    def map_tables(self, transform: Callable[[Tensor, int], Tensor],
                   tag: object) -> 'PointFeatures':
        """The same maps and regions with row-wise transformed tables,
        ``transform(rows (N, C_l), channel_offset) -> (N, D)``, built slab by
        slab from the maps. Releases this object's own tables first, so that
        both never coexist: use the result instead of ``self``.

        Args:
            transform (Callable): Row-wise map, e.g. a layer's weights.
            tag (object): Recorded as the result's :attr:`tag`, so that
                whoever made the transform can recognise its tables.
        """
        self.tables = None
        tables = [
            channels_last_table(m, lambda t, o=o: transform(t, o))
            for m, o in zip(self.maps, self.channel_offsets)
        ]
        return PointFeatures(self.maps, self.strides, self.boxes, tables, tag)

    def select(self, start: int, end: int) -> 'PointFeatures':
        """Regions ``start:end`` (the tables are shared)."""
        return self.take(slice(start, end))

    def take(self, indices) -> 'PointFeatures':
        """Regions ``indices`` (a slice or an index tensor), in that order
        (the tables are shared)."""
        if self.boxes is None:
            raise ValueError('image regions cannot be selected')
        return PointFeatures(self.maps, self.strides, self.boxes[indices],
                             self.tables, self.tag)

    def sample_levels(self, points: Tensor, regions: Tensor) -> List[Tensor]:
        """Per level ``(R', P, D_l)`` table rows at the points.

        Args:
            points (Tensor): ``(R', P, 2)`` points in ``[0, 1]`` of their
                regions.
            regions (Tensor): ``(R',)`` region indices.
        """
        if self.boxes is not None:  # boxes: image points of each level
            boxes = self.boxes[regions]
            img_points = box_points_to_image_points(points, boxes[:, 1:])
            return [
                sample_image_features(
                    m,
                    boxes[:, 0],
                    img_points,
                    stride,
                    table=table,
                    channels_last=True) for m, table, stride in zip(
                        self.maps, self.tables, self.strides)
            ]
        out = []  # whole images: points relative to each map's extent
        for m, table in zip(self.maps, self.tables):
            height, width = m.shape[-2:]
            out.append(
                bilinear_gather(table,
                                regions.long() * (height * width), height,
                                width, scale_points(points, width, height)))
        return out

    def sample(self, points: Tensor, regions: Tensor) -> Tensor:
        """``(R', P, C)`` features at the points, levels concatenated."""
        levels = self.sample_levels(points, regions)
        return levels[0] if len(levels) == 1 else torch.cat(levels, -1)


def all_regions(num_regions: int, device: torch.device) -> Tensor:
    """``(R,)`` indices of every region."""
    return torch.arange(num_regions, device=device)
