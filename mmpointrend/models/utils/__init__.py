"""Pure-tensor point utilities shared by every PointRend head."""
from .mask_raster import (MaskWindows, bilinear_point_labels, box_mask_targets,
                          nearest_point_labels, polygon_window,
                          rasterise_windows, read_windows)
from .point_features import PointFeatures, all_regions
from .point_ops import (PointPredictor, StepCallback, UncertaintyFn,
                        bilinear_gather, binary_uncertainty,
                        box_points_to_image_points, channels_last_table,
                        grid_indices_to_points, margin_uncertainty,
                        plan_subdivision, point_sample, regular_grid_points,
                        sample_image_features, sample_training_points,
                        subdivide, subdivision_step, top_uncertain_grid_points)

__all__ = [
    'bilinear_gather', 'channels_last_table', 'binary_uncertainty',
    'margin_uncertainty', 'regular_grid_points', 'grid_indices_to_points',
    'box_points_to_image_points', 'point_sample', 'sample_image_features',
    'sample_training_points', 'top_uncertain_grid_points', 'subdivision_step',
    'subdivide', 'plan_subdivision', 'MaskWindows', 'read_windows',
    'polygon_window', 'rasterise_windows', 'bilinear_point_labels',
    'nearest_point_labels', 'box_mask_targets', 'PointFeatures', 'all_regions',
    'PointPredictor', 'StepCallback', 'UncertaintyFn'
]
