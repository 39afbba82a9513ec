"""A RoI head that is not one of ours: mmdet's ``StandardRoIHead`` made a
PointRend host by the mixin and one method, as docs/design.md "Adding a
host" says. Its coarse head reads the box grid plus the grid's mean (a
context term), so its predictions differ from
:class:`PointRendInstanceRoIHead`'s with the same weights."""
from mmdet.models.roi_heads import StandardRoIHead

from mmpointrend.models.roi_heads import PointRendHost
from mmpointrend.registry import DET_MODELS


@DET_MODELS.register_module(force=True)
class ToyPointRendHost(PointRendHost, StandardRoIHead):

    def coarse_predictions(self, x, rois):
        features = self.mask_roi_extractor.point_features(x, rois)
        grid = self.mask_roi_extractor(x, rois, features)
        return features, self.mask_head(grid + grid.mean((2, 3), True))
