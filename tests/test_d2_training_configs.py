"""The paper configs train as detectron2 does where docs/faithfulness.md says
a difference is closed: resizing with PIL (detectron2's ResizeShortestEdge),
RPN / RoI matching, initialisation. Each check runs the component the config
builds, not the config's text."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from helpers import REPO
from mmengine.config import Config
from PIL import Image

PAPER = [
    'configs/point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py',
    'configs/point_rend/point-rend_r50-caffe_fpn_ms-24k_cityscapes.py',
    'configs/point_rend/point-rend_x101-32x8d_fpn_ms-3x_coco.py',
    'configs/mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py',
]


def load(config):
    return Config.fromfile(osp.join(REPO, config))


@pytest.mark.parametrize('config', PAPER)
def test_training_and_testing_resize_like_detectron2(config):
    """The training pipeline's resize (a scale drawn by RandomChoiceResize)
    and the test resize give PIL's bilinear resize of the image, as
    detectron2's ResizeTransform."""
    from mmdet.registry import TRANSFORMS
    cfg = load(config)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (300, 451, 3), dtype=np.uint8)
    pipelines = (cfg.train_dataloader.dataset.pipeline,
                 cfg.test_dataloader.dataset.pipeline)
    for pipeline in pipelines:
        resize = next(t for t in pipeline if 'Resize' in t['type'])
        out = TRANSFORMS.build(resize)(
            dict(img=img.copy(), img_shape=img.shape[:2]))
        new_h, new_w = out['img'].shape[:2]
        short, long = sorted(out['scale'])
        # detectron2: shorter side to the drawn size, longer side capped
        scale = min(short / 300, long / 451)
        assert (new_h, new_w) == (int(300 * scale + 0.5),
                                  int(451 * scale + 0.5))
        expected = np.asarray(
            Image.fromarray(img).resize((new_w, new_h), Image.BILINEAR))
        np.testing.assert_array_equal(out['img'], expected)


def build_assigner(cfg, stage):
    from mmdet.registry import TASK_UTILS
    return TASK_UTILS.build(cfg.model.train_cfg[stage].assigner)


def assign(assigner, gt_box, priors):
    from mmengine.structures import InstanceData
    pred = InstanceData(priors=torch.tensor(priors, dtype=torch.float))
    gt = InstanceData(
        bboxes=torch.tensor([gt_box], dtype=torch.float),
        labels=torch.tensor([0]))
    return assigner.assign(pred, gt).gt_inds


@pytest.mark.parametrize('config', PAPER[:2])
def test_matching_like_detectron2(config):
    cfg = load(config)
    # RPN: an instance whose best anchor overlaps it by IoU 0.25 still gets
    # that anchor as a positive (detectron2's allow_low_quality_matches)
    rpn = build_assigner(cfg, 'rpn')
    gt_inds = assign(rpn, [0, 0, 10, 10], [[0, 0, 20, 20], [30, 30, 60, 60]])
    assert gt_inds.tolist() == [1, 0]
    # RoI: a proposal goes to the instance it overlaps most, never to one it
    # is merely the best match of (detectron2's ROI_HEADS matcher)
    from mmengine.structures import InstanceData
    rcnn = build_assigner(cfg, 'rcnn')
    gt = InstanceData(
        bboxes=torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 13]]),
        labels=torch.tensor([0, 1]))
    pred = InstanceData(priors=torch.tensor([[0.0, 0, 10, 11]]))
    # its best instance is gt 0 (10/11 vs 11/13); low-quality matching would
    # re-assign it to gt 1, whose best match it also is
    assert rcnn.assign(pred, gt).gt_inds.tolist() == [1]


def test_fpn_and_box_head_initialised_like_detectron2():
    from mmpointrend.registry import DET_MODELS
    cfg = load(PAPER[0])
    cfg.model.backbone.init_cfg = None  # no download
    model = DET_MODELS.build(cfg.model)
    model.init_weights()
    for weight in (model.neck.fpn_convs[0].conv.weight,
                   model.neck.lateral_convs[3].conv.weight,
                   model.roi_head.bbox_head.shared_fcs[0].weight):
        # c2_xavier_fill: uniform in +-sqrt(3 / fan_in)
        bound = math.sqrt(3 / weight[0].numel())
        assert float(weight.abs().max()) <= bound
        assert float(weight.abs().max()) > 0.95 * bound
        assert float(weight.std()) == pytest.approx(
            bound / math.sqrt(3), rel=0.05)
    assert float(model.roi_head.bbox_head.fc_reg.weight.std()) == \
        pytest.approx(0.001, rel=0.05)
