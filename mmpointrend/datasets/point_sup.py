"""Point-supervised instance segmentation data (PointSup; Cheng, Parkhi,
Kirillov, "Pointly-Supervised Instance Segmentation", CVPR 2022).

Annotations are COCO's, with ``point_coords`` (``[[x, y], ...]``, integer
pixel indices of the image, as detectron2's PointSup files) and
``point_labels`` (1 inside the object, 0 outside) per instance instead of a
mask. :func:`sample_point_annotations` makes such a file from full masks.

In the pipeline the points are kept relative to their instance's box, so
that resizing needs nothing and a flip only mirrors them; the RoI head maps
them onto its proposals (:class:`PackPointSupInputs` packs them as
``gt_instances.point_coords`` / ``point_labels``; -1 marks padding).
"""
import copy
import logging
from typing import List, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets import CocoDataset
from mmdet.datasets.transforms import PackDetInputs
from mmengine.logging import print_log

from mmpointrend.registry import DET_DATASETS, DET_TRANSFORMS


class PointAnnotationError(ValueError):
    """A point annotation that cannot be used."""


def sample_point_annotations(coco: dict,
                             num_points: int,
                             seed: int = 0) -> dict:
    """A COCO json whose masks are replaced by ``num_points`` labelled points
    per instance, drawn uniformly in its box.

    Args:
        coco (dict): COCO instances json (polygon or RLE masks).
        num_points (int): Points per instance.
        seed (int): Seed of the draws (same seed, same points).

    Returns:
        dict: The json with ``point_coords`` / ``point_labels`` and without
        ``segmentation`` in every annotation that had a mask.
    """
    import pycocotools.mask as mask_util
    if num_points < 1:
        raise ValueError(f'num_points must be >= 1, got {num_points}')
    rng = np.random.default_rng(seed)
    sizes = {
        img['id']: (img['height'], img['width'])
        for img in coco['images']
    }
    out = {k: v for k, v in coco.items() if k != 'annotations'}
    out['annotations'] = []
    for ann in coco['annotations']:
        ann = copy.deepcopy(ann)
        segm = ann.pop('segmentation', None)
        if not segm:
            out['annotations'].append(ann)
            continue
        h, w = sizes[ann['image_id']]
        if isinstance(segm, list):  # polygons: one mask of all parts
            rle = mask_util.merge(mask_util.frPyObjects(segm, h, w))
        elif isinstance(segm['counts'], list):  # uncompressed RLE
            rle = mask_util.frPyObjects(segm, h, w)
        else:
            rle = segm
        mask = mask_util.decode(rle)
        x, y, bw, bh = ann['bbox']
        xy = rng.random((num_points, 2)) * (bw, bh) + (x, y)
        xy = np.floor(xy).astype(np.int64)
        xy[:, 0] = xy[:, 0].clip(0, w - 1)
        xy[:, 1] = xy[:, 1].clip(0, h - 1)
        ann['point_coords'] = xy.tolist()
        ann['point_labels'] = mask[xy[:, 1], xy[:, 0]].astype(int).tolist()
        out['annotations'].append(ann)
    return out


@DET_DATASETS.register_module()
class PointSupCocoDataset(CocoDataset):
    """``CocoDataset`` that also reads each instance's labelled points.

    Each kept instance gets ``point_coords`` (``(P, 2)`` pixel centres,
    i.e. the annotated pixel index + 0.5) and ``point_labels`` (``(P,)``).
    Bad annotations: labels other than 0 / 1 raise
    :class:`PointAnnotationError` naming the annotation; points outside the
    instance's box (by more than a pixel) and instances without points are
    left out with a warning (the box still trains the detector).
    """

    def parse_data_info(self, raw_data_info: dict) -> dict:
        img = raw_data_info['raw_img_info']
        data_info = super().parse_data_info(
            dict(raw_data_info, raw_ann_info=[]))
        instances = []
        for ann in raw_data_info['raw_ann_info']:
            # mmdet's own rules decide which annotations become instances
            kept = super().parse_data_info(
                dict(raw_img_info=img, raw_ann_info=[ann]))['instances']
            if not kept:
                continue
            instance = kept[0]
            instance.pop('mask', None)
            coords, labels = self._points(ann, instance['bbox'])
            instance['point_coords'] = coords
            instance['point_labels'] = labels
            instances.append(instance)
        data_info['instances'] = instances
        return data_info

    def _points(self, ann: dict, bbox: List[float]):
        coords = np.asarray(ann.get('point_coords', []), np.float32).reshape(
            -1, 2) + 0.5
        labels = np.asarray(ann.get('point_labels', []), np.int64)
        where = f"annotation {ann.get('id')} of {self.ann_file}"
        if len(coords) != len(labels):
            raise PointAnnotationError(
                f'{where}: {len(coords)} point_coords but {len(labels)} '
                'point_labels')
        if len(labels) and not np.isin(labels, (0, 1)).all():
            raise PointAnnotationError(
                f'{where}: point_labels must be 0 (background) or 1 '
                f'(object), got {sorted(set(labels.tolist()))}')
        x1, y1, x2, y2 = bbox
        inside = (coords[:, 0] >= x1 - 1) & (coords[:, 0] <= x2 + 1) & (
            coords[:, 1] >= y1 - 1) & (
                coords[:, 1] <= y2 + 1)
        if not inside.all():
            print_log(
                f'{where}: {int((~inside).sum())} of {len(inside)} points '
                'lie outside the box and are ignored',
                logger='current',
                level=logging.WARNING)
            labels = np.where(inside, labels, -1)
        if not (labels >= 0).any():
            print_log(
                f'{where}: no usable point; the instance trains the box '
                'branch only',
                logger='current',
                level=logging.WARNING)
        return coords, labels


@DET_TRANSFORMS.register_module()
class LoadPointAnnotations(BaseTransform):
    """Instances' points -> ``gt_point_coords`` ``(n, P, 2)`` relative to
    each instance's box and ``gt_point_labels`` ``(n, P)`` (-1 pads
    instances with fewer points). Put it after ``LoadAnnotations``."""

    def transform(self, results: dict) -> dict:
        instances = results.get('instances', [])
        num = max([len(i['point_labels']) for i in instances] + [1])
        coords = np.zeros((len(instances), num, 2), np.float32)
        labels = np.full((len(instances), num), -1, np.int64)
        for k, inst in enumerate(instances):
            x1, y1, x2, y2 = inst['bbox']
            size = np.array([max(x2 - x1, 1e-6), max(y2 - y1, 1e-6)])
            n = len(inst['point_labels'])
            coords[k, :n] = (inst['point_coords'] - (x1, y1)) / size
            labels[k, :n] = inst['point_labels']
        results['gt_point_coords'] = coords
        results['gt_point_labels'] = labels
        return results


@DET_TRANSFORMS.register_module()
class PackPointSupInputs(PackDetInputs):
    """mmdet's ``PackDetInputs`` that also packs the points
    (``gt_instances.point_coords`` / ``point_labels``), mirrored with a
    flip. Resizing needs nothing (they are box-relative); other geometric
    transforms are refused."""

    mapping_table = dict(
        PackDetInputs.mapping_table,
        gt_point_coords='point_coords',
        gt_point_labels='point_labels')

    def transform(self, results: dict) -> dict:
        if 'gt_point_coords' in results:
            for key in ('homography_matrix', ):
                matrix = results.get(key)
                if matrix is not None and not _scale_and_flip_only(matrix):
                    raise PointAnnotationError(
                        'point annotations follow resizing and flipping '
                        'only; remove rotating / shearing / cropping '
                        'transforms from the pipeline')
            if results.get('flip', False):
                coords = results['gt_point_coords'].copy()
                direction = results.get('flip_direction', 'horizontal')
                if direction in ('horizontal', 'diagonal'):
                    coords[..., 0] = 1 - coords[..., 0]
                if direction in ('vertical', 'diagonal'):
                    coords[..., 1] = 1 - coords[..., 1]
                results['gt_point_coords'] = coords
        return super().transform(results)


def _scale_and_flip_only(matrix: Optional[np.ndarray]) -> bool:
    """Whether a 3x3 homography only scales / flips (no shear, rotation or
    translation other than a flip's)."""
    m = np.asarray(matrix)
    return abs(m[0, 1]) < 1e-6 and abs(m[1, 0]) < 1e-6 and np.allclose(
        m[2], (0, 0, 1))
