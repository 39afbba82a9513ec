"""PointRend on MMDetection's cascades: Cascade Mask R-CNN and HTC as
:class:`PointRendCascadeHost` s.

Every stage has its own coarse head, trained on that stage's positive
proposals with the stage's loss weight (as mmdet trains the stages' FCN mask
heads); the point head is shared and trained at every stage on that stage's
coarse prediction. At test time all stages' coarse heads run on the final
boxes, their predictions are merged as mmdet's cascade merges its masks (the
mean of the probabilities, :meth:`PointRendCoarseMaskHead.merge_stages`), and
the merged prediction is refined once.
"""
from functools import partial
from typing import List, Optional, Tuple

import torch.nn.functional as F
from mmdet.models.roi_heads import CascadeRoIHead, HybridTaskCascadeRoIHead
from mmdet.utils import InstanceList
from torch import Tensor

from mmpointrend.registry import DET_MODELS
from .point_rend_host import PointRendCascadeHost


@DET_MODELS.register_module()
class PointRendCascadeRoIHead(PointRendCascadeHost, CascadeRoIHead):
    """Cascade Mask R-CNN RoI head with a PointRend mask branch.

    Box branch: mmdet's :class:`CascadeRoIHead`, unchanged. Mask branch: per
    stage ``mask_roi_extractor`` (a :class:`PointRendGridExtractor`) and
    ``mask_head`` (a :class:`PointRendCoarseMaskHead`; one config is used
    for every stage, as mmdet does), one shared ``point_head``.

    Training (``train_cfg.rcnn``, the host's list of stage configs, each
    with ``stage_train_cfg`` laid over it: ``mask_size`` the coarse mask
    size and any PointRend key of :class:`PointRendInstanceRoIHead`): stage
    ``i``'s coarse head and the point head on stage ``i``'s positives;
    mmdet weighs the stage's ``loss_mask`` and ``loss_point`` by
    ``stage_loss_weights[i]``. ``mask_on_refined_boxes`` moves a stage's
    positives to that stage's regressed boxes.

    Inference (``test_cfg.rcnn``, as :class:`PointRendInstanceRoIHead`'s):
    the stages' coarse predictions of the final boxes merged by the last
    mask head's :meth:`merge_stages`, then subdivision once.

    Args: ``point_head``, ``loss_point``, ``uncertainty`` and
    ``stage_train_cfg`` (the block's sets ``mask_size=7``), see
    :class:`PointRendHostBase`; :class:`CascadeRoIHead`'s.
    """


@DET_MODELS.register_module()
class PointRendHTCRoIHead(PointRendCascadeRoIHead, HybridTaskCascadeRoIHead):
    """Hybrid Task Cascade RoI head with a PointRend mask branch.

    Kept from mmdet's :class:`HybridTaskCascadeRoIHead`: the box cascade
    with semantic fusion, the semantic segmentation branch and its loss,
    interleaved execution (each stage's mask branch trains on the boxes its
    box head regressed, re-assigned and re-sampled), and the semantic
    features (``semantic_roi_extractor`` on the fused semantic map) added to
    every stage's coarse-head grid when ``'mask'`` is in
    ``semantic_fusion``. The point head reads P2 at its points only, as in
    PointRend.

    Not kept: the mask information flow (``mask_info_flow`` must be False).
    HTC feeds each stage's FCN head the previous stage's 14x14 conv
    features; the coarse head has no such map to pass on (its output is a
    7x7 class mask from fully connected layers), and the detail the flow
    adds is what the point head's subdivision provides. At test time the
    stages' coarse predictions are merged (mean probability) as in
    :class:`PointRendCascadeRoIHead`; mmdet's HTC without the flow would
    use the last stage's alone.

    Args:
        mask_info_flow (bool): Must be False. Defaults to False.
        **kwargs: :class:`PointRendCascadeRoIHead` and
            :class:`HybridTaskCascadeRoIHead` arguments.
    """

    def __init__(self, *args, mask_info_flow: bool = False, **kwargs) -> None:
        if mask_info_flow:
            raise ValueError(
                'PointRendHTCRoIHead has no mask information flow (the coarse '
                'head passes no feature map between stages): set '
                'roi_head.mask_info_flow=False')
        super().__init__(*args, mask_info_flow=False, **kwargs)

    def grid_features(self, stage, x, rois, features, semantic_feat=None):
        """The stage's grid plus HTC's semantic features of the boxes."""
        grid = super().grid_features(stage, x, rois, features)
        if semantic_feat is not None and 'mask' in self.semantic_fusion:
            semantic = self.semantic_roi_extractor([semantic_feat], rois)
            if semantic.shape[-2:] != grid.shape[-2:]:
                semantic = F.adaptive_avg_pool2d(semantic, grid.shape[-2:])
            grid = grid + semantic
        return grid

    def predict_mask(self,
                     x: Tuple[Tensor],
                     semantic_heat: Optional[Tensor],
                     batch_img_metas: List[dict],
                     results_list: InstanceList,
                     rescale: bool = False) -> InstanceList:
        """Refine and paste the masks of the final boxes, with HTC's
        semantic features (``semantic_heat``: mmdet's argument name)."""
        return self.mask_branch.predict(
            partial(self.coarse_predictions, x, semantic_feat=semantic_heat),
            results_list, batch_img_metas, rescale)
