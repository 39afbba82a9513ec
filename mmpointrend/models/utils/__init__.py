"""Pure-tensor point utilities shared by every PointRend head, a module per
concern: ``point_uncertainty``, ``point_grids``, ``point_sampling`` (with its
ONNX forms), ``importance_sampling``, ``subdivision``, ``point_features``,
``mask_raster`` and ``mask_pasting``.

Shape shorthand used throughout this module:

- ``R``: number of regions (boxes for instance segmentation, images for
  semantic segmentation). Every per-region tensor has ``R`` first.
- ``B``: number of images in the batch (feature maps have ``B`` first).
- ``C``: channels of a feature map; ``K``: number of classes.
- ``P``: number of points per region.
- ``H, W``: height and width of a map.

Coordinates:

- *relative* points are ``(x, y)`` in ``[0, 1] x [0, 1]`` of a region (a box
  or a whole image), where ``0`` and ``1`` are the region's outer edges (pixel
  *edges*, not centres, i.e. ``align_corners=False`` semantics).
- *image* points are ``(x, y)`` in continuous input-image pixels: pixel
  ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``, its centre is at
  ``(j + 0.5, i + 0.5)``.

Nothing here knows about registries or mm data structures; the heads glue
these functions to MMDetection / MMSegmentation.
"""
from .importance_sampling import (sample_training_points,
                                  top_uncertain_grid_points)
from .mask_pasting import clip_nonempty, paste_masks
from .mask_raster import (MaskWindows, bilinear_point_labels, box_mask_targets,
                          nearest_point_labels, polygon_window,
                          rasterise_windows, read_windows)
from .point_features import PointFeatures, all_regions
from .point_grids import (box_points_to_image_points, grid_indices_to_points,
                          regular_grid_points)
from .point_sampling import (bilinear_dense, bilinear_gather,
                             channels_last_table, point_sample,
                             sample_image_features, scale_points, size_min)
from .point_uncertainty import (UncertaintyFn, binary_uncertainty,
                                margin_uncertainty)
from .subdivision import (PointPredictor, StepCallback, SubdivisionStep,
                          plan_subdivision, subdivide, subdivision_step)

__all__ = [
    'bilinear_dense', 'scale_points', 'size_min', 'bilinear_gather',
    'channels_last_table', 'binary_uncertainty', 'margin_uncertainty',
    'regular_grid_points', 'grid_indices_to_points',
    'box_points_to_image_points', 'point_sample', 'sample_image_features',
    'sample_training_points', 'top_uncertain_grid_points', 'subdivision_step',
    'subdivide', 'plan_subdivision', 'MaskWindows', 'read_windows',
    'polygon_window', 'rasterise_windows', 'bilinear_point_labels',
    'nearest_point_labels', 'box_mask_targets', 'PointFeatures', 'all_regions',
    'PointPredictor', 'StepCallback', 'UncertaintyFn', 'SubdivisionStep',
    'paste_masks', 'clip_nonempty'
]
