"""RPN head that ranks proposals by objectness logit, as detectron2 does.

Shape shorthand: ``A`` anchors per location, ``N`` candidates of an image.
"""
from typing import List

import torch
from mmdet.models.dense_heads import RPNHead
from mmdet.structures.bbox import cat_boxes
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmpointrend.registry import DET_MODELS


@DET_MODELS.register_module()
class LogitRankedRPNHead(RPNHead):
    """mmdet's :class:`RPNHead` with proposals ranked by logit.

    mmdet ranks the per-level top-k and the NMS by float32 sigmoid scores,
    which tie once logits pass ~9 and are exactly 1.0 above ~16.6; the order
    among tied anchors is then arbitrary, and so are the proposals a trained
    model keeps. detectron2 (``find_top_rpn_proposals``) ranks by the logits
    themselves. This head does the same, and drops candidates with a
    non-finite box or logit (detectron2 does at test time); the rest is
    mmdet's: per-level top ``nms_pre``, decoding clipped to the image,
    ``min_bbox_size`` filter, NMS per level, ``max_per_img``. Training is
    unchanged. The returned scores are the sigmoid of the ranked logits.

    Takes :class:`RPNHead`'s arguments; the classifier must be sigmoid.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.use_sigmoid_cls:
            raise ValueError('LogitRankedRPNHead ranks sigmoid logits; set '
                             'loss_cls.use_sigmoid=True')

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: ConfigDict,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Proposals of one image (same arguments as :class:`RPNHead`).

        ``cls_score_list[l]`` is ``(A, H_l, W_l)``, ``bbox_pred_list[l]``
        ``(A * 4, H_l, W_l)``, ``mlvl_priors[l]`` ``(H_l * W_l * A, 4)``.
        """
        cfg = self.test_cfg if cfg is None else cfg
        nms_pre = cfg.get('nms_pre', -1)
        logits, deltas, priors, level_ids = [], [], [], []
        for level, (score, pred, prior) in enumerate(
                zip(cls_score_list, bbox_pred_list, mlvl_priors)):
            score = score.permute(1, 2, 0).reshape(-1)
            pred = pred.permute(1, 2, 0).reshape(-1,
                                                 self.bbox_coder.encode_size)
            if 0 < nms_pre < score.numel():
                score, keep = score.topk(nms_pre)
                pred, prior = pred[keep], prior[keep]
            logits.append(score)
            deltas.append(pred)
            priors.append(prior)
            level_ids.append(torch.full_like(score, level, dtype=torch.long))
        results = InstanceData()
        results.bboxes = self.bbox_coder.decode(
            cat_boxes(priors),
            torch.cat(deltas),
            max_shape=img_meta['img_shape'])
        results.scores = torch.cat(logits)  # NMS ranks these
        results.level_ids = torch.cat(level_ids)
        finite = torch.isfinite(results.bboxes).all(1) & torch.isfinite(
            results.scores)
        if not bool(finite.all()):
            results = results[finite]
        results = self._bbox_post_process(
            results=results, cfg=cfg, rescale=rescale, img_meta=img_meta)
        results.scores = results.scores.sigmoid()
        return results
