"""Comparing two sets of detections (exported graph vs PyTorch, ours vs
detectron2): greedy matching by class and box IoU, mask IoU per match."""
from typing import List, Tuple

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two ``(4,)`` boxes ``x1, y1, x2, y2``."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) \
        - w * h
    return float(w * h / union) if union > 0 else 0.0


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool masks; 1 when both are empty."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def match_detections(ref_boxes: np.ndarray,
                     ref_scores: np.ndarray,
                     ref_labels: np.ndarray,
                     boxes: np.ndarray,
                     scores: np.ndarray,
                     labels: np.ndarray,
                     min_iou: float = 0.9) -> List[Tuple[int, int]]:
    """Greedy in the reference's score order: for each reference detection
    the highest-scoring unused detection of the same class with box IoU >
    ``min_iou``. Returns ``(reference index, index)`` pairs."""
    order = np.argsort(-np.asarray(scores), kind='stable')
    used, pairs = set(), []
    for i in np.argsort(-np.asarray(ref_scores), kind='stable'):
        for j in order:
            if j in used or labels[j] != ref_labels[i]:
                continue
            if box_iou(ref_boxes[i], boxes[j]) > min_iou:
                used.add(j)
                pairs.append((int(i), int(j)))
                break
    return pairs
