"""AP*: COCO-trained masks scored against LVIS annotations (paper Sec. 5).

COCO's polygons are coarse; LVIS re-annotated COCO images with finer masks.
AP* takes the LVIS val annotations (v0.5, as the paper and detectron2, or v1)
of the 80 COCO categories on the COCO val images ("COCO categories on LVIS
annotations") and evaluates with the
``lvis`` API, whose federated protocol respects that LVIS is not exhaustively
annotated: in an image, detections of a category listed neither as present
nor in ``neg_category_ids`` are ignored, and unmatched detections of a
category in ``not_exhaustive_category_ids`` are not false positives.

The LVIS category of each COCO category is given by its WordNet synset, the
correspondence published with the LVIS API (``coco_to_synset.json``).
"""
import contextlib
import copy
import json
import logging
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmpointrend.registry import DET_METRICS

# (COCO category id, COCO name, LVIS synset)
COCO_LVIS_SYNSETS = (
    (1, 'person', 'person.n.01'), (2, 'bicycle', 'bicycle.n.01'),
    (3, 'car', 'car.n.01'), (4, 'motorcycle', 'motorcycle.n.01'),
    (5, 'airplane', 'airplane.n.01'), (6, 'bus', 'bus.n.01'),
    (7, 'train', 'train.n.01'), (8, 'truck', 'truck.n.01'),
    (9, 'boat', 'boat.n.01'), (10, 'traffic light', 'traffic_light.n.01'),
    (11, 'fire hydrant', 'fireplug.n.01'), (13, 'stop sign',
                                            'stop_sign.n.01'),
    (14, 'parking meter',
     'parking_meter.n.01'), (15, 'bench', 'bench.n.01'), (16, 'bird',
                                                          'bird.n.01'),
    (17, 'cat', 'cat.n.01'), (18, 'dog', 'dog.n.01'), (19, 'horse',
                                                       'horse.n.01'),
    (20, 'sheep',
     'sheep.n.01'), (21, 'cow', 'beef.n.01'), (22, 'elephant',
                                               'elephant.n.01'),
    (23, 'bear', 'bear.n.01'), (24, 'zebra',
                                'zebra.n.01'), (25, 'giraffe', 'giraffe.n.01'),
    (27, 'backpack', 'backpack.n.01'), (28, 'umbrella', 'umbrella.n.01'),
    (31, 'handbag',
     'bag.n.04'), (32, 'tie', 'necktie.n.01'), (33, 'suitcase',
                                                'bag.n.06'), (34, 'frisbee',
                                                              'frisbee.n.01'),
    (35, 'skis', 'ski.n.01'), (36, 'snowboard',
                               'snowboard.n.01'), (37, 'sports ball',
                                                   'ball.n.06'), (38, 'kite',
                                                                  'kite.n.03'),
    (39, 'baseball bat',
     'baseball_bat.n.01'), (40, 'baseball glove',
                            'baseball_glove.n.01'), (41, 'skateboard',
                                                     'skateboard.n.01'),
    (42, 'surfboard',
     'surfboard.n.01'), (43, 'tennis racket',
                         'tennis_racket.n.01'), (44, 'bottle', 'bottle.n.01'),
    (46, 'wine glass',
     'wineglass.n.01'), (47, 'cup', 'cup.n.01'), (48, 'fork', 'fork.n.01'),
    (49, 'knife',
     'knife.n.01'), (50, 'spoon',
                     'spoon.n.01'), (51, 'bowl', 'bowl.n.03'), (52, 'banana',
                                                                'banana.n.02'),
    (53, 'apple',
     'apple.n.01'), (54, 'sandwich',
                     'sandwich.n.01'), (55, 'orange',
                                        'orange.n.01'), (56, 'broccoli',
                                                         'broccoli.n.01'),
    (57, 'carrot', 'carrot.n.01'), (58, 'hot dog',
                                    'frank.n.02'), (59, 'pizza', 'pizza.n.01'),
    (60, 'donut', 'doughnut.n.02'), (61, 'cake', 'cake.n.03'), (62, 'chair',
                                                                'chair.n.01'),
    (63, 'couch',
     'sofa.n.01'), (64, 'potted plant',
                    'pot.n.04'), (65, 'bed',
                                  'bed.n.01'), (67, 'dining table',
                                                'dining_table.n.01'),
    (70, 'toilet',
     'toilet.n.02'), (72, 'tv', 'television_receiver.n.01'), (73, 'laptop',
                                                              'laptop.n.01'),
    (74, 'mouse',
     'mouse.n.04'), (75, 'remote',
                     'remote_control.n.01'), (76, 'keyboard',
                                              'computer_keyboard.n.01'),
    (77, 'cell phone',
     'cellular_telephone.n.01'), (78, 'microwave',
                                  'microwave.n.02'), (79, 'oven', 'oven.n.01'),
    (80, 'toaster',
     'toaster.n.02'), (81, 'sink',
                       'sink.n.01'), (82, 'refrigerator',
                                      'electric_refrigerator.n.01'),
    (84, 'book',
     'book.n.01'), (85, 'clock',
                    'clock.n.01'), (86, 'vase',
                                    'vase.n.01'), (87, 'scissors',
                                                   'scissors.n.01'),
    (88, 'teddy bear',
     'teddy.n.01'), (89, 'hair drier',
                     'hand_blower.n.01'), (90, 'toothbrush',
                                           'toothbrush.n.01'))


class APStarDataError(ValueError):
    """The LVIS / COCO files cannot give the AP* ground truth."""


def _read_json(path: str, what: str) -> dict:
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise APStarDataError(f'{what} not found: {path}') from None
    except json.JSONDecodeError as e:
        raise APStarDataError(f'{what} {path} is not valid JSON: {e}') \
            from None
    for key in ('images', 'annotations', 'categories'):
        if key not in data:
            raise APStarDataError(f"{what} {path} has no '{key}'")
    return data


def cocofy_lvis(lvis: dict, coco: dict) -> dict:
    """COCO categories on LVIS annotations, restricted to COCO's images.

    Args:
        lvis (dict): LVIS v0.5 or v1 val json (images with
            ``neg_category_ids`` and
            ``not_exhaustive_category_ids``; categories with ``synset``).
        coco (dict): COCO val json (its images select LVIS's; its category
            ids are the output's).

    Returns:
        dict: an LVIS-format json whose category ids are COCO's.
    """
    synset_to_coco = {s: i for i, _, s in COCO_LVIS_SYNSETS}
    lvis_to_coco = {}
    for cat in lvis['categories']:
        if 'synset' not in cat:
            raise APStarDataError(
                f"LVIS category {cat.get('id')} has no 'synset': not an LVIS "
                'annotation file')
        if cat['synset'] in synset_to_coco:
            lvis_to_coco[cat['id']] = synset_to_coco[cat['synset']]
    missing = set(synset_to_coco) - {c['synset'] for c in lvis['categories']}
    if missing:
        logging.getLogger(__name__).warning(
            'AP*: %d COCO categories have no LVIS category in this file: %s',
            len(missing),
            sorted(missing)[:10])
    coco_images = {img['id'] for img in coco['images']}
    images, used = [], set()
    for img in lvis['images']:
        if img['id'] not in coco_images:
            continue
        img = copy.deepcopy(img)
        for key in ('neg_category_ids', 'not_exhaustive_category_ids'):
            if key not in img:
                raise APStarDataError(
                    f"LVIS image {img['id']} has no '{key}': not an LVIS "
                    'annotation file')
            img[key] = sorted(
                {lvis_to_coco[c]
                 for c in img[key] if c in lvis_to_coco})
            used.update(img[key])
        images.append(img)
    if not images:
        raise APStarDataError('no image of the COCO file is in the LVIS file '
                              '(give LVIS v0.5 or v1 *val* and COCO '
                              '*val*2017)')
    kept = {img['id'] for img in images}
    anns = []
    for ann in lvis['annotations']:
        if ann['image_id'] in kept and ann['category_id'] in lvis_to_coco:
            ann = copy.deepcopy(ann)
            ann['category_id'] = lvis_to_coco[ann['category_id']]
            ann['id'] = len(anns) + 1
            anns.append(ann)
            used.add(ann['category_id'])
    cats = []
    for cat in lvis['categories']:
        if lvis_to_coco.get(cat['id']) in used:
            cat = copy.deepcopy(cat)
            cat['id'] = lvis_to_coco[cat['id']]
            cats.append(cat)
    out = {
        k: v
        for k, v in lvis.items()
        if k not in ('images', 'annotations', 'categories')
    }
    out.update(
        images=images,
        annotations=anns,
        categories=sorted(cats, key=lambda c: c['id']))
    return out


def cocofy_lvis_files(lvis_file: str,
                      coco_file: str,
                      out_file: Optional[str] = None) -> dict:
    """:func:`cocofy_lvis` on files; writes ``out_file`` when given."""
    out = cocofy_lvis(
        _read_json(lvis_file, 'LVIS annotation file'),
        _read_json(coco_file, 'COCO annotation file'))
    if out_file:
        with open(out_file, 'w') as f:
            json.dump(out, f)
    return out


@contextlib.contextmanager
def numpy_float_alias():
    """Make ``np.float`` (removed in numpy 1.24) mean ``float`` inside the
    block, for ``lvis`` 0.5.3 (``LVISEval.accumulate`` casts with it).

    Only while the block runs, and only if numpy lacks the name: the alias
    is removed afterwards, so no other code sees it.
    """
    had = 'float' in np.__dict__
    if not had:
        np.float = float
    try:
        yield
    finally:
        if not had:
            del np.float


def lvis_evaluate(gt,
                  results: List[dict],
                  iou_type: str = 'segm',
                  max_dets: int = 300) -> Dict[str, float]:
    """Run ``lvis.LVISEval`` and return its results (fractions).

    Args:
        gt (str | lvis.LVIS): the ground truth, a file or loaded.
    """
    from lvis import LVIS, LVISEval, LVISResults
    gt = gt if isinstance(gt, LVIS) else LVIS(gt)
    img_ids = set(gt.get_img_ids())
    outside = {r['image_id'] for r in results} - img_ids
    if outside:
        logging.getLogger(__name__).warning(
            'AP*: predictions on %d images that the LVIS ground truth does '
            'not have are not scored (e.g. %s)', len(outside),
            sorted(outside)[:5])
        results = [r for r in results if r['image_id'] in img_ids]
    if not results:
        return OrderedDict()
    dt = LVISResults(gt, results, max_dets=max_dets)
    evaluator = LVISEval(gt, dt, iou_type)
    evaluator.params.max_dets = max_dets
    with numpy_float_alias():
        evaluator.run()
    evaluator.print_results()
    return OrderedDict(evaluator.get_results())


def _rles(masks) -> List[dict]:
    """RLEs (``counts`` as str) from a mask tensor / array, or from the RLE
    list that ``tools/test.py --out`` stores."""
    import pycocotools.mask as mask_util
    if isinstance(masks, (list, tuple)):
        rles = [dict(size=list(r['size']), counts=r['counts']) for r in masks]
    else:
        if hasattr(masks, 'cpu'):
            masks = masks.cpu().numpy()
        rles = [
            mask_util.encode(np.asfortranarray(m.astype(np.uint8)))
            for m in masks
        ]
    for r in rles:
        if isinstance(r['counts'], bytes):
            r['counts'] = r['counts'].decode()
    return rles


@DET_METRICS.register_module()
class LVISAPStarMetric(BaseMetric):
    """AP* of a COCO-trained model (``apstar/segm_AP`` etc.).

    Give either ``ann_file`` (made by ``tools/dataset_converters/
    cocofy_lvis.py``) or both ``lvis_ann_file`` (LVIS v0.5 or v1 val) and
    ``coco_ann_file`` (COCO val2017), from which the ground truth is built
    on the fly. The model's classes must be COCO's 80 (by name, as in
    ``dataset_meta['classes']``).

    Args:
        metric (str | list[str]): ``'segm'`` (AP*, the paper's) and / or
            ``'bbox'``.
        max_dets (int): detections per image (LVIS's protocol: 300).
        outfile_prefix (str, optional): where to keep the built ground truth
            (``{prefix}.cocofied_lvis.json``).
    """
    default_prefix: Optional[str] = 'apstar'
    _ITEMS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl')

    def __init__(self,
                 ann_file: Optional[str] = None,
                 lvis_ann_file: Optional[str] = None,
                 coco_ann_file: Optional[str] = None,
                 metric='segm',
                 max_dets: int = 300,
                 outfile_prefix: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 backend_args=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        given = tuple(
            f is not None for f in (ann_file, lvis_ann_file, coco_ann_file))
        if given not in ((True, False, False), (False, True, True)):
            raise ValueError('LVISAPStarMetric needs ann_file (a cocofied '
                             'LVIS file) or both lvis_ann_file and '
                             'coco_ann_file, not both')
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        for m in self.metrics:
            if m not in ('segm', 'bbox'):
                raise ValueError(f"metric must be 'segm' or 'bbox', got {m!r}")
        self.ann_file, self.lvis_ann_file, self.coco_ann_file = (ann_file,
                                                                 lvis_ann_file,
                                                                 coco_ann_file)
        self.max_dets = max_dets
        self.outfile_prefix = outfile_prefix

    def _coco_cat_ids(self) -> List[int]:
        by_name = {name: i for i, name, _ in COCO_LVIS_SYNSETS}
        classes = self.dataset_meta['classes']
        unknown = [c for c in classes if c not in by_name]
        if unknown:
            raise APStarDataError(
                f'AP* scores COCO categories; the model\'s classes include '
                f'{unknown[:5]} which are not COCO names')
        return [by_name[c] for c in classes]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_instances']
            entry = dict(
                img_id=sample['img_id'],
                bboxes=np.asarray(pred['bboxes']),
                scores=np.asarray(pred['scores']),
                labels=np.asarray(pred['labels']))
            if 'masks' in pred and 'segm' in self.metrics:
                entry['masks'] = _rles(pred['masks'])
            self.results.append(entry)

    def _results(self, results: list, iou_type: str) -> List[dict]:
        cat_ids = self._coco_cat_ids()
        out = []
        for r in results:
            for i, (label, score) in enumerate(zip(r['labels'], r['scores'])):
                ann = dict(
                    image_id=int(r['img_id']),
                    category_id=cat_ids[int(label)],
                    score=float(score))
                if iou_type == 'segm':
                    if 'masks' not in r:
                        raise APStarDataError(
                            "metric='segm' but the model predicts no masks")
                    # no bbox: lvis would take its area for the size ranges
                    ann['segmentation'] = r['masks'][i]
                else:
                    x1, y1, x2, y2 = (float(v) for v in r['bboxes'][i])
                    ann['bbox'] = [x1, y1, x2 - x1, y2 - y1]
                out.append(ann)
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        from lvis import LVIS
        logger = MMLogger.get_current_instance()
        with tempfile.TemporaryDirectory() as tmp_dir:
            gt_file = self.ann_file
            if gt_file is None:
                gt_file = (
                    self.outfile_prefix +
                    '.cocofied_lvis.json' if self.outfile_prefix else osp.join(
                        tmp_dir, 'cocofied_lvis.json'))
                logger.info('AP*: building COCO categories on LVIS '
                            f'annotations from {self.lvis_ann_file} and '
                            f'{self.coco_ann_file}')
                cocofy_lvis_files(self.lvis_ann_file, self.coco_ann_file,
                                  gt_file)
            elif not osp.isfile(gt_file):
                raise APStarDataError(
                    f'AP* ground truth not found: {gt_file} (make it with '
                    'tools/dataset_converters/cocofy_lvis.py)')
            gt = LVIS(gt_file)  # read once for every iou type
        out = OrderedDict()
        for iou_type in self.metrics:
            stats = lvis_evaluate(gt, self._results(results, iou_type),
                                  iou_type, self.max_dets)
            if not stats:
                logger.warning(f'AP* ({iou_type}): no predictions on the '
                               'LVIS images; reporting 0')
            for key in self._ITEMS:
                out[f'{iou_type}_{key}'] = round(float(stats.get(key, 0.0)), 4)
        return out
