# Modified from https://github.com/facebookresearch/detectron2/tree/main/projects/PointRend  # noqa
"""PointRend RoI head for MMDetection's Mask R-CNN (paper sections 3 and
4): mmdet's :class:`StandardRoIHead` as a :class:`PointRendHost`.

Shape shorthand: ``R`` boxes of the whole batch, ``K`` classes, ``M`` coarse
mask side.
"""
from typing import Tuple

from mmdet.models.roi_heads import StandardRoIHead
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from ..utils import PointFeatures
from .point_rend_host import PointRendHost


@DET_MODELS.register_module()
class PointRendInstanceRoIHead(PointRendHost, StandardRoIHead):
    """Mask R-CNN RoI head with a PointRend mask branch.

    Box branch: MMDetection's :class:`StandardRoIHead`, unchanged. Mask
    branch (:class:`PointRendMaskBranch`): ``mask_roi_extractor`` (a
    :class:`PointRendGridExtractor`) reads a 14x14 grid of P2 per box,
    ``mask_head`` (a :class:`PointRendCoarseMaskHead`) predicts 7x7 coarse
    logits, and ``point_head`` (a :class:`PointRendPointHead`) predicts
    points from P2 features and the coarse logits at those points.

    Training (``train_cfg.rcnn``): ``num_points`` points per positive box
    chosen by importance sampling (``oversample_ratio`` k,
    ``importance_sample_ratio`` beta, uncertainty ``-|GT-class logit|``), or a
    regular grid with ``point_sampling='grid'``; their labels are bilinear
    samples of each instance's raster and the coarse targets its aligned
    RoIAlign in the box, as detectron2 trains (``MaskPointSampler``). With
    ``mask_on_refined_boxes`` the mask branch trains on the positive boxes
    after the box head's regression (paper section 4, "cascade"), as it sees
    them at inference.

    Inference (``test_cfg.rcnn``): adaptive subdivision of the predicted
    class's coarse logits, ``subdivision_steps`` times by ``scale_factor``,
    each predicting at most ``subdivision_num_points`` points; only the
    predicted class's channel is ever refined, all boxes of the batch at once
    (in chunks sized by ``chunk_memory_mb``); each mask is pasted only
    around its box. With ``adaptive_resolution`` a box stops subdividing
    once its mask resolution reaches its size in the image (later steps only
    upsample it). With ``drop_empty_boxes`` the output boxes are clipped to
    the output image and detections whose box is then empty are dropped
    (detectron2's ``detector_postprocess``); mmdet keeps them.

    Args: ``point_head``, ``loss_point``, ``uncertainty``,
    ``stage_train_cfg`` (see :class:`PointRendHostBase`) and
    :class:`StandardRoIHead`'s; ``mask_roi_extractor``, ``mask_head``,
    ``bbox_head`` are required.
    """

    def coarse_predictions(self, x: Tuple[Tensor],
                           rois: Tensor) -> Tuple[PointFeatures, Tensor]:
        """``(R, 5)`` rois -> their :class:`PointFeatures` (P2 laid out
        channels-last once, for the grid and every later point) and the
        coarse prediction (``(R, K, M, M)`` logits)."""
        features = self.mask_roi_extractor.point_features(x, rois)
        return features, self.mask_head(
            self.mask_roi_extractor(x, rois, features))
