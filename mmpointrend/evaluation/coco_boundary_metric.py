"""Boundary AP for instance segmentation, beside MMDetection's CocoMetric.

Boundary AP is COCO mask AP with the IoU of a (prediction, ground truth) pair
replaced by ``min(mask IoU, boundary IoU)`` (Cheng et al. 2021), so a mask
that is right inside but wrong along its contour no longer counts as a match
at high thresholds. Everything else (matching, crowd regions, areas, the 101
recall points) is pycocotools' COCOeval.
"""
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
import pycocotools.mask as mask_util
from mmdet.datasets.api_wrappers import COCO
from mmdet.evaluation.metrics import CocoMetric
from mmengine.fileio import load
from mmengine.logging import MMLogger
from pycocotools.cocoeval import COCOeval

from mmpointrend.registry import DET_METRICS
from .boundary import boundary_band, boundary_dilation


class BoundaryCOCOeval(COCOeval):
    """COCOeval for ``iouType='segm'`` with ``min(mask IoU, boundary IoU)``.

    Boundary bands are computed once per annotation and only for pairs whose
    mask IoU reaches the lowest IoU threshold: below it the min is below
    every threshold whatever the boundary IoU is, so those pairs keep their
    mask IoU (they match at no threshold either way).
    """

    def __init__(self,
                 coco_gt,
                 coco_dt,
                 dilation_ratio: float = 0.02,
                 dilation_pixels: Optional[int] = None):
        super().__init__(coco_gt, coco_dt, 'segm')
        self.dilation_ratio = dilation_ratio
        self.dilation_pixels = dilation_pixels
        self._bands = {}

    def _band(self, kind: str, ann: dict):
        key = (kind, ann['id'])
        if key not in self._bands:
            rle = ann['segmentation']  # _prepare made every one an RLE
            h, w = rle['size']
            d = boundary_dilation(h, w, self.dilation_ratio,
                                  self.dilation_pixels)
            band = boundary_band(mask_util.decode(rle), d)
            self._bands[key] = mask_util.encode(np.asfortranarray(band))
        return self._bands[key]

    def computeIoU(self, imgId, catId):  # noqa: N802 (pycocotools' name)
        ious = super().computeIoU(imgId, catId)
        if len(ious) == 0:
            return ious
        p = self.params
        if p.useCats:
            gt, dt = self._gts[imgId, catId], self._dts[imgId, catId]
        else:
            gt = [g for c in p.catIds for g in self._gts[imgId, c]]
            dt = [d for c in p.catIds for d in self._dts[imgId, c]]
        order = np.argsort([-d['score'] for d in dt], kind='mergesort')
        dt = [dt[i] for i in order][:p.maxDets[-1]]
        ious = np.array(ious, dtype=np.float64, copy=True)
        crowd = [int(g['iscrowd']) for g in gt]
        rows, cols = np.nonzero(ious >= min(p.iouThrs))
        for i in np.unique(rows):
            js = cols[rows == i]
            b = mask_util.iou([self._band('dt', dt[i])],
                              [self._band('gt', gt[j]) for j in js],
                              [crowd[j] for j in js])
            ious[i, js] = np.minimum(ious[i, js], np.asarray(b).reshape(-1))
        return ious


@DET_METRICS.register_module()
class CocoBoundaryMetric(CocoMetric):
    """Boundary AP (overall, at IoU 0.5 / 0.75, and by object size).

    Use it beside ``CocoMetric``; it takes the same arguments (``ann_file``
    or ground truth from the data samples, ``outfile_prefix``, ...) and
    evaluates masks only.

    Args:
        dilation_ratio (float): band width as a fraction of the image
            diagonal. Defaults to 0.02 (the paper's choice).
        dilation_pixels (int, optional): a fixed band width instead.

    Reports ``boundary/bAP``, ``bAP_50``, ``bAP_75``, ``bAP_s``, ``bAP_m``,
    ``bAP_l`` (fractions, like CocoMetric; -1 for a size range without
    ground truth); 0 when there are no predictions at all.
    """
    default_prefix: Optional[str] = 'boundary'
    _ITEMS = ('bAP', 'bAP_50', 'bAP_75', 'bAP_s', 'bAP_m', 'bAP_l')

    def __init__(self,
                 *args,
                 dilation_ratio: float = 0.02,
                 dilation_pixels: Optional[int] = None,
                 **kwargs):
        metric = kwargs.pop('metric', 'segm')
        if metric not in ('segm', ['segm'], ('segm', )):
            raise ValueError('CocoBoundaryMetric evaluates masks only '
                             f"(metric='segm'), got metric={metric!r}")
        super().__init__(*args, metric='segm', **kwargs)
        boundary_dilation(1, 1, dilation_ratio, dilation_pixels)  # validate
        self.dilation_ratio = dilation_ratio
        self.dilation_pixels = dilation_pixels

    def compute_metrics(self, results: list) -> Dict[str, float]:
        with tempfile.TemporaryDirectory() as tmp_dir:
            return self._compute(
                results, self.outfile_prefix or osp.join(tmp_dir, 'results'))

    def _compute(self, results: list, outfile_prefix: str) -> dict:
        logger = MMLogger.get_current_instance()
        gts, preds = zip(*results)
        if self._coco_api is None:
            self._coco_api = COCO(
                self.gt_to_coco_json(
                    gt_dicts=gts, outfile_prefix=outfile_prefix))
        if self.cat_ids is None:
            self.cat_ids = self._coco_api.get_cat_ids(
                cat_names=self.dataset_meta['classes'])
        if self.img_ids is None:
            self.img_ids = self._coco_api.get_img_ids()
        result_files = self.results2json(preds, outfile_prefix)
        if self.format_only:
            return OrderedDict()
        eval_results = OrderedDict((k, 0.0) for k in self._ITEMS)
        predictions = load(result_files['segm']) if 'segm' in result_files \
            else []
        if not predictions:
            logger.warning('Boundary AP: no mask predictions; reporting 0')
            return eval_results
        for x in predictions:  # areas from the masks, as CocoMetric does
            x.pop('bbox', None)
        coco_eval = BoundaryCOCOeval(self._coco_api,
                                     self._coco_api.loadRes(predictions),
                                     self.dilation_ratio, self.dilation_pixels)
        coco_eval.params.catIds = self.cat_ids
        coco_eval.params.imgIds = self.img_ids
        coco_eval.params.maxDets = list(self.proposal_nums)
        coco_eval.params.iouThrs = self.iou_thrs
        logger.info('Evaluating Boundary AP (IoU = min(mask IoU, boundary '
                    f'IoU), d = {self.dilation_pixels or self.dilation_ratio}'
                    f'{" px" if self.dilation_pixels else " x diagonal"})...')
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
        for i, key in enumerate(self._ITEMS):
            # -1: no ground truth in that size range (as CocoMetric reports)
            eval_results[key] = float(f'{coco_eval.stats[i]:.3f}')
        return eval_results
