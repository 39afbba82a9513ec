"""Mask2Former with PointRend's instance masks (see
:mod:`mmpointrend.models.dense_heads.point_rend_mask2former_head`)."""
from typing import List

from mmdet.models.detectors import Mask2Former
from torch import Tensor

from mmpointrend.registry import DET_MODELS


@DET_MODELS.register_module()
class PointRendMask2Former(Mask2Former):
    """Mask2Former whose instance masks PointRend refines (its head a
    :class:`PointRendMask2FormerHead`): no query's mask is upsampled to the
    image; each kept instance is refined in its box and pasted.

    Instance segmentation only (``test_cfg.panoptic_on=False``,
    ``instance_on=True``, as mmdet's instance config): the panoptic and
    semantic outputs fuse every query's upsampled mask, which is what this
    replaces.
    """

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: list,
                rescale: bool = True) -> list:
        fusion = self.panoptic_fusion_head
        cfg = fusion.test_cfg
        if cfg.get('panoptic_on', True) or cfg.get('semantic_on', False) \
                or not cfg.get('instance_on', False):
            raise ValueError(
                'PointRendMask2Former refines instance masks only: set '
                'test_cfg.panoptic_on=False and instance_on=True (mmdet\'s '
                'mask2former_*_coco.py instance configs do)')
        head = self.panoptic_head
        feats = self.extract_feat(batch_inputs)
        metas = [sample.metainfo for sample in batch_data_samples]
        results: List[dict] = []
        with head.reading_mask_features():
            cls_preds, mask_preds = head(feats, batch_data_samples)
            for i, meta in enumerate(metas):
                results.append(
                    dict(
                        ins_results=head.predict_instances(
                            cls_preds[-1][i], mask_preds[-1][i], i, meta, cfg,
                            fusion.num_things_classes, rescale)))
        return self.add_pred_to_datasample(batch_data_samples, results)
