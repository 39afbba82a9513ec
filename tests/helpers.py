"""Shared builders for the tests: small heads, configs and batches."""
import copy
import os.path as osp
import subprocess
import sys

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmengine.config import Config, ConfigDict
from mmengine.structures import InstanceData

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_PR_CFG = osp.join(REPO, 'configs/demo/point-rend_r18-tiny_fpn_shapes.py')
DEMO_BASE_CFG = osp.join(REPO, 'configs/demo/mask-rcnn_r18-tiny_fpn_shapes.py')


def run_tool(script: str, *args, timeout: int = 600):
    """``python SCRIPT ARGS`` (SCRIPT relative to the repository) from the
    repository root, its output captured as text."""
    return subprocess.run(
        [sys.executable,
         osp.join(REPO, script), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout)


def small_roi_head_cfg(num_classes=5, channels=16):
    """A PointRendInstanceRoIHead config with narrow layers."""
    return ConfigDict(
        type='PointRendInstanceRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=channels,
            featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=channels,
            fc_out_channels=32,
            roi_feat_size=7,
            num_classes=num_classes,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        mask_roi_extractor=dict(
            type='PointRendGridExtractor',
            featmap_strides=[4],
            featmap_indices=[0],
            out_size=14,
            out_channels=channels),
        mask_head=dict(
            type='PointRendCoarseMaskHead',
            num_classes=num_classes,
            in_channels=channels,
            conv_out_channels=channels,
            fc_out_channels=64),
        point_head=dict(
            type='PointRendPointHead',
            num_classes=num_classes,
            in_channels=channels,
            fc_channels=channels),
        train_cfg=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=64,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            mask_size=7,
            pos_weight=-1,
            debug=False,
            num_points=49,
            oversample_ratio=3,
            importance_sample_ratio=0.75),
        test_cfg=dict(
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100,
            mask_thr_binary=0.5,
            subdivision_steps=5,
            subdivision_num_points=28 * 28,
            scale_factor=2))


def build_roi_head(**overrides):
    """:func:`small_roi_head_cfg` with ``overrides``, built and
    initialised."""
    from mmdet.registry import MODELS
    cfg = small_roi_head_cfg()
    cfg.update(overrides)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def cpu_model_cfg(model_cfg, num_classes=None):
    """:func:`offline_cpu_model_cfg` of a shipped model config, with
    ``num_classes`` set in the bbox head when given."""
    from mmpointrend.apis.runner_utils import offline_cpu_model_cfg
    model_cfg = offline_cpu_model_cfg(model_cfg)
    if num_classes is not None:
        model_cfg.bbox_head.num_classes = num_classes
    return model_cfg


def feats(batch=2, channels=16, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(batch, channels, size // 2**i, size // 2**i, generator=g)
        for i in range(4))


def random_boxes(n, img_size, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * img_size * 0.6
    wh = torch.rand(n, 2, generator=g) * img_size * 0.35 + 4
    return torch.cat([xy, xy + wh], 1)


def det_sample(img_size=256, num_gt=3, seed=0, polygons=True):
    """A DetDataSample with boxes, labels, masks and proposals."""
    rng = np.random.default_rng(seed)
    sample = DetDataSample()
    sample.set_metainfo(
        dict(
            img_shape=(img_size, img_size),
            ori_shape=(img_size, img_size),
            pad_shape=(img_size, img_size),
            scale_factor=(1.0, 1.0),
            batch_input_shape=(img_size, img_size)))
    boxes = random_boxes(num_gt, img_size, seed)
    gt = InstanceData()
    gt.bboxes = boxes
    gt.labels = torch.from_numpy(rng.integers(0, 5, num_gt)).long()
    polys = []
    for x0, y0, x1, y1 in boxes.tolist():
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        polys.append([np.array([x0, cy, cx, y0, x1, cy, cx, y1], float)])
    if polygons:
        gt.masks = PolygonMasks(polys, img_size, img_size)
    else:
        gt.masks = PolygonMasks(polys, img_size, img_size).to_bitmap()
    sample.gt_instances = gt
    proposals = InstanceData()
    noise = torch.from_numpy(rng.normal(0, 3, (num_gt * 4, 4))).float()
    proposals.bboxes = boxes.repeat(4, 1) + noise
    proposals.scores = torch.rand(num_gt * 4)
    sample.proposals = proposals
    return sample


def load_demo_cfg(path, data_root, work_dir=None):
    from mmpointrend.datasets import use_data_root
    cfg = use_data_root(Config.fromfile(path), data_root)
    if work_dir:
        cfg.work_dir = work_dir
    return cfg


def clone_results(results_list):
    return [copy.deepcopy(r) for r in results_list]


def semantic_maps(data_root: str, split: str) -> str:
    """COCO-stuff-like label maps for HTC's semantic branch: each image's
    instances painted with their category id (255 elsewhere: ignored)."""
    from PIL import Image
    from pycocotools.coco import COCO
    coco = COCO(osp.join(data_root, f'{split}.json'))
    out = osp.join(data_root, f'seg_{split}')
    import os
    os.makedirs(out, exist_ok=True)
    for img in coco.dataset['images']:
        label = np.full((img['height'], img['width']), 255, np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img['id'])):
            label[coco.annToMask(ann) > 0] = ann['category_id']
        name = osp.splitext(img['file_name'])[0] + '.png'
        Image.fromarray(label).save(osp.join(out, name))
    return f'seg_{split}/'


__all__ = [
    'small_roi_head_cfg', 'feats', 'random_boxes', 'det_sample',
    'load_demo_cfg', 'clone_results', 'BitmapMasks', 'DEMO_PR_CFG',
    'DEMO_BASE_CFG', 'REPO', 'semantic_maps'
]


def positive_sampling_result(gt, boxes, gt_inds):
    """mmdet's ``SamplingResult`` with every box of ``boxes`` ``(R, 4)``
    positive, matched to the instances ``gt_inds`` ``(R,)`` of ``gt``."""
    from mmdet.models.task_modules.assigners import AssignResult
    from mmdet.models.task_modules.samplers import SamplingResult
    assign = AssignResult(
        len(gt), gt_inds + 1, torch.ones(len(boxes)), gt.labels[gt_inds])
    return SamplingResult(
        pos_inds=torch.arange(len(boxes)),
        neg_inds=torch.zeros(0, dtype=torch.long),
        priors=boxes,
        gt_bboxes=gt.bboxes,
        assign_result=assign,
        gt_flags=torch.zeros(len(boxes), dtype=torch.uint8))
