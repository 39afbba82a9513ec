"""Boundary IoU and boundary F-score for semantic segmentation (mmseg).

Per class c, over the whole dataset:

* boundary IoU: ``sum |P_d & G_d| / sum |P_d | G_d|`` where P, G are the
  predicted / ground-truth masks of c and X_d their boundary bands at width
  d (see :mod:`mmpointrend.evaluation.boundary`).
* boundary F-score: P's one-pixel contour pixels within d of G's contour are
  precise, G's contour pixels within d of P's contour are recalled;
  ``F = 2 P R / (P + R)`` from the dataset-level counts.

Pixels with the ignore label are removed from both maps first, and the image
frame is not a contour. Classes absent from both prediction and ground truth
of the whole dataset are left out of the means (NaN in the per-class table).
"""
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from mmpointrend.registry import seg_registries
from .boundary import (boundary_band, boundary_dilation, contour,
                       within_distance)

_, SEG_METRICS = seg_registries()


class SegBoundaryMetric(BaseMetric):
    """Boundary IoU (``bIoU``) and boundary F-score (``bF``), per class and
    averaged over classes.

    Args:
        ignore_index (int): label ignored in evaluation. Defaults to 255.
        dilation_ratio (float): band width / tolerance as a fraction of the
            image diagonal. Defaults to 0.02.
        dilation_pixels (int, optional): a fixed width instead (e.g. 3 for
            thin-structure studies).
    """
    default_prefix: Optional[str] = 'boundary'

    def __init__(self,
                 ignore_index: int = 255,
                 dilation_ratio: float = 0.02,
                 dilation_pixels: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if kwargs:
            raise TypeError(f'SegBoundaryMetric got unknown arguments '
                            f'{sorted(kwargs)}')
        boundary_dilation(1, 1, dilation_ratio, dilation_pixels)  # validate
        self.ignore_index = ignore_index
        self.dilation_ratio = dilation_ratio
        self.dilation_pixels = dilation_pixels

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            # (1, H, W) maps; [0], not squeeze(): H or W may be 1
            pred = sample['pred_sem_seg']['data'][0].cpu().numpy()
            gt = sample['gt_sem_seg']['data'][0].cpu().numpy()
            self.results.append(self.image_counts(pred, gt, num_classes))

    def image_counts(self, pred: np.ndarray, gt: np.ndarray,
                     num_classes: int) -> np.ndarray:
        """(num_classes, 6) counts of one image: band intersection, band
        union, precise contour pixels, predicted contour pixels, recalled
        contour pixels, ground-truth contour pixels."""
        if pred.shape != gt.shape:
            raise ValueError(f'prediction {pred.shape} and ground truth '
                             f'{gt.shape} differ in size')
        d = boundary_dilation(*gt.shape, self.dilation_ratio,
                              self.dilation_pixels)
        valid = gt != self.ignore_index
        counts = np.zeros((num_classes, 6), np.int64)
        for c in np.union1d(np.unique(pred[valid]), np.unique(gt[valid])):
            c = int(c)
            if not 0 <= c < num_classes:
                continue
            p, g = (pred == c) & valid, (gt == c) & valid
            pb, gb = (boundary_band(p, d, image_border=False),
                      boundary_band(g, d, image_border=False))
            pc, gc = contour(p), contour(g)
            counts[c] = ((pb & gb).sum(), (pb | gb).sum(),
                         within_distance(pc, gc, d).sum(), pc.sum(),
                         within_distance(gc, pc, d).sum(), gc.sum())
        return counts

    def compute_metrics(self, results: list) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        total = np.sum(results, axis=0).astype(np.float64)
        with np.errstate(divide='ignore', invalid='ignore'):
            biou = total[:, 0] / total[:, 1]
            precision = total[:, 2] / total[:, 3]
            recall = total[:, 4] / total[:, 5]
            bf = 2 * precision * recall / (precision + recall)
        # a class predicted but absent from ground truth (or the reverse)
        # has recall (precision) 0 / undefined: its F-score is 0
        present = (total[:, 3] + total[:, 5]) > 0
        bf = np.where(present & np.isnan(bf), 0.0, bf)
        classes = self.dataset_meta['classes']
        lines = ['per-class boundary IoU / F-score:']
        for name, i, f in zip(classes, biou, bf):
            lines.append(f'  {name:>16}: {100 * i:6.2f} / {100 * f:6.2f}')
        print_log('\n'.join(lines), logger=logger)
        out = OrderedDict()
        out['bIoU'] = round(float(np.nanmean(biou)) *
                            100, 2) if np.any(~np.isnan(biou)) else 0.0
        out['bF'] = round(float(np.nanmean(bf)) *
                          100, 2) if np.any(~np.isnan(bf)) else 0.0
        return out


if SEG_METRICS is not None:
    SEG_METRICS.register_module(module=SegBoundaryMetric)
