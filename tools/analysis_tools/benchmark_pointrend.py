"""Side-by-side benchmark of PointRend mask inference: ours vs MMDetection's.

Both RoI heads are built from the R50-FPN COCO configs (ours and mmdet's),
share the same random weights (converted with
``mmpointrend.converters.mmpointrend_to_mmdet``) and get the same features
and detections; the script times ``predict_mask`` (coarse head, 5
subdivision steps to 224x224, pasting into the image) and measures its peak
memory, for several box and class counts, then prints the ratios. It also
times the point-head MLP alone on the same points (the "naive floor") and
counts FLOPs / activations of one 224x224 mask (paper Table 2) with
mmengine's complexity analysis.

    python tools/analysis_tools/benchmark_pointrend.py
    python tools/analysis_tools/benchmark_pointrend.py --cases 100x80 300x1203

Peak memory on the CPU is the rise of the process's resident set (VmHWM,
reset through /proc/self/clear_refs) over its size before the call; on a GPU
it is ``torch.cuda.max_memory_allocated`` over the allocation before.
"""
import argparse
import copy
import os.path as osp
import platform
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

import mmpointrend  # noqa: F401
from mmpointrend.converters import mmpointrend_to_mmdet
from mmpointrend.utils import PeakMemory

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OURS_CFG = osp.join(
    REPO, 'configs/point_rend/'
    'point-rend_r50-caffe_fpn_ms-1x_coco.py')
MMDET_CFG = 'point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py'


def mmdet_config(path):
    """A config file shipped inside the installed mmdet package."""
    import mmdet
    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', path)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--cases',
        nargs='+',
        default=['25x80', '100x80', '300x80', '100x1203', '300x1203'],
        help='BOXESxCLASSES cases')
    parser.add_argument('--img', default='800x1216', help='HxW input size')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--mmdet-mem-limit',
        type=float,
        default=8.0,
        help='skip mmdet where its (R, K, 224, 224) refinement tensor alone '
        'would exceed this many GB')
    parser.add_argument('--no-flops', action='store_true')
    parser.add_argument(
        '--semantic',
        action='store_true',
        help='also compare the semantic head with mmseg\'s PointHead at '
        '1024x2048 (SemanticFPN: 2 steps from stride 4; DeepLabV3: 4 steps '
        'from stride 16)')
    parser.add_argument(
        '--train',
        action='store_true',
        help='also time one training step of the RoI head (box + mask '
        'branch, forward and backward) against mmdet\'s, on polygon masks')
    parser.add_argument(
        '--instance',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='run the instance cases')
    parser.add_argument(
        '--end-to-end',
        action='store_true',
        help='whole-model inference (images/s, peak memory, split into '
        'backbone / RPN + box head / mask branch) of our PointRend, '
        "mmdet's PointRend and the 4x conv Mask R-CNN, 100 detections")
    parser.add_argument(
        '--dense',
        action='store_true',
        help='also compare PointRend on RTMDet-Ins with the host: the '
        'refinement of 100 instances at 800x1333 against the host\'s own '
        'mask post-processing, and a training step with the dense mask '
        'loss at mask_loss_stride 4 and 1 against PointSampledMaskLoss')
    parser.add_argument('--out', help='write the table (markdown) here')
    return parser.parse_args()


def build_heads(num_classes, device):
    """Our RoI head and mmdet's, with the same weights."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    heads = []
    for path in (OURS_CFG, mmdet_config(MMDET_CFG)):
        cfg = Config.fromfile(path).model
        roi = copy.deepcopy(cfg.roi_head)
        roi.update(train_cfg=cfg.train_cfg.rcnn, test_cfg=cfg.test_cfg.rcnn)
        for key in ('bbox_head', 'mask_head', 'point_head'):
            roi[key].num_classes = num_classes
        heads.append(MODELS.build(roi).to(device).eval())
    ours, theirs = heads
    ours.init_weights()
    # realistic magnitudes, so that refinement really moves the masks
    torch.nn.init.normal_(ours.point_head.fc_logits.weight, std=0.05)
    torch.nn.init.normal_(ours.mask_head.predictor.weight, std=0.01)
    theirs.load_state_dict(mmpointrend_to_mmdet(ours.state_dict(), ''))
    return ours, theirs


def make_inputs(num_boxes, num_classes, img_hw, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = img_hw
    feats = tuple(
        torch.randn(1, 256, h // s, w // s, generator=g).to(device)
        for s in (4, 8, 16, 32, 64))
    size = torch.rand(num_boxes, 2, generator=g) * 0.4 * min(h, w) + 16
    xy = torch.rand(num_boxes, 2, generator=g) * (torch.tensor([w, h]) - size)
    res = InstanceData()
    res.bboxes = torch.cat([xy, xy + size], 1).to(device)
    res.labels = torch.randint(
        num_classes, (num_boxes, ), generator=g).to(device)
    res.scores = torch.rand(num_boxes, generator=g).to(device)
    meta = dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0))
    return feats, [meta], [res]


def run(fn, repeat, device):
    """Median seconds over ``repeat`` runs and the peak memory of the first."""
    times, mem = [], None
    for i in range(repeat):
        with PeakMemory(device) as pm:
            if device.startswith('cuda'):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = fn()
            if device.startswith('cuda'):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        mem = pm.mb if mem is None else mem
        del out
    return statistics.median(times), mem


def mlp_floor(head, num_boxes, num_classes, num_points, steps, device, repeat):
    """The point MLP alone on the points subdivision predicts (no sampling)."""
    g = torch.Generator().manual_seed(1)
    fine = torch.randn(num_boxes, 256, num_points, generator=g).to(device)
    coarse = torch.randn(
        num_boxes, num_classes, num_points, generator=g).to(device)
    labels = torch.randint(num_classes, (num_boxes, ), generator=g).to(device)

    def fn():
        for _ in range(steps):
            head.point_head(fine, coarse, labels)

    return run(fn, repeat, device)[0]


def one_mask_complexity(ours, theirs, img_hw, device):
    """FLOPs and activations of one 224x224 mask (paper Table 2)."""
    from mmengine.analysis import ActivationAnalyzer, FlopAnalyzer

    feats, _, res = make_inputs(1, ours.mask_head.num_classes, img_hw, device)
    rois = torch.cat([res[0].bboxes.new_zeros(1, 1), res[0].bboxes], 1)

    class Ours(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.head = ours

        def forward(self, p2, rois, labels):
            return self.head.refine_masks((p2, ), rois, labels)

    class Theirs(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.head = theirs

        def forward(self, p2, rois, labels):
            coarse = self.head._mask_forward((p2, ), rois)['mask_preds']
            return self.head._mask_point_forward_test((p2, ), rois, labels,
                                                      coarse)

    out = {}
    for name, mod in (('ours', Ours()), ('mmdet', Theirs())):
        inputs = (feats[0], rois, res[0].labels)
        flops = FlopAnalyzer(mod, inputs)
        acts = ActivationAnalyzer(mod, inputs)
        for a in (flops, acts):
            a.unsupported_ops_warnings(False)
            a.uncalled_modules_warnings(False)
            a.tracer_warnings('none')
        out[name] = (flops.total() / 1e9, acts.total() / 1e6)
    return out


def semantic_cases(device, repeat):
    """Ours vs mmseg's PointHead, same weights, 1024x2048, 19 classes."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS as SEG_MODELS

    from mmpointrend.models import PointRendSemanticHead
    with DefaultScope.overwrite_default_scope('mmseg'):
        import mmseg.models  # noqa: F401
        ours = PointRendSemanticHead(num_classes=19).to(device).eval()
        theirs = SEG_MODELS.build(
            dict(
                type='PointHead',
                in_channels=[256],
                in_index=[0],
                channels=256,
                num_fcs=3,
                coarse_pred_each_layer=True,
                dropout_ratio=-1,
                num_classes=19,
                align_corners=False)).to(device).eval()
    ours.init_weights()
    torch.nn.init.normal_(ours.point_head.fc_logits.weight, std=0.05)
    for a, b in zip(ours.point_head.fcs, theirs.fcs):
        b.conv.load_state_dict(a.state_dict())
    theirs.fc_seg.load_state_dict(ours.point_head.fc_logits.state_dict())
    g = torch.Generator().manual_seed(0)
    res2 = torch.randn(1, 256, 256, 512, generator=g).to(device)
    metas = [dict(img_shape=(1024, 2048), pad_shape=(1024, 2048))]
    rows = []
    for name, stride, steps in (('SemanticFPN P2-P5', 4, 2), ('DeepLabV3 OS16',
                                                              16, 4)):
        coarse = torch.randn(
            1, 19, 1024 // stride, 2048 // stride, generator=g).to(device)
        cfg = Config(
            dict(
                subdivision_steps=steps,
                scale_factor=2,
                subdivision_num_points=8096))
        with torch.no_grad():
            t_o, m_o = run(lambda: ours.predict([res2], coarse, metas, cfg),
                           repeat, device)
            t_m, m_m = run(lambda: theirs.predict([res2], coarse, metas, cfg),
                           repeat, device)
            same = (ours.predict([res2], coarse, metas,
                                 cfg).argmax(1) == theirs.predict(
                                     [res2], coarse, metas,
                                     cfg).argmax(1)).float().mean().item()
        rows.append(f'| {name} | {steps} | {t_m:.2f} | {t_o:.2f} | '
                    f'{t_m / t_o:.2f}x | {m_m:.0f} | {m_o:.0f} | '
                    f'{100 * same:.3f} |')
        print(rows[-1], flush=True)
    return ('\n\nSemantic, 1024x2048 input, 19 classes, 8096 points per '
            'step, res2/P2 256 channels at stride 4:\n\n| model | steps | '
            'mmseg PointHead time (s) | ours time (s) | speed-up | mmseg '
            'peak mem (MB) | ours peak mem (MB) | same argmax (%) |\n' +
            '|---' * 8 + '|\n' + '\n'.join(rows))


def train_step_case(device, repeat, num_gt=15, img_hw=(800, 1216)):
    """RoI-head training step (loss + backward), ours vs mmdet's, 2 images,
    512 sampled RoIs each, polygon ground truth."""
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import PolygonMasks

    ours, theirs = build_heads(80, device)
    ours.train()
    theirs.train()
    h, w = img_hw
    rng = np.random.default_rng(0)
    samples, proposals = [], []
    for _ in range(2):
        s = DetDataSample()
        s.set_metainfo(
            dict(
                img_shape=img_hw,
                ori_shape=img_hw,
                pad_shape=img_hw,
                scale_factor=(1.0, 1.0),
                batch_input_shape=img_hw))
        gt = InstanceData()
        xy = rng.uniform(0, 0.6, (num_gt, 2)) * (w, h)
        wh = rng.uniform(0.05, 0.35, (num_gt, 2)) * (w, h)
        boxes = np.concatenate([xy, xy + wh], 1)
        polys = []
        for x0, y0, x1, y1 in boxes:  # 24-gons inscribed in the boxes
            t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
            r = rng.uniform(0.7, 1.0, 24)
            polys.append([
                np.stack([(x0 + x1) / 2 + r * (x1 - x0) / 2 * np.cos(t),
                          (y0 + y1) / 2 + r * (y1 - y0) / 2 * np.sin(t)],
                         1).ravel()
            ])
        gt.bboxes = torch.from_numpy(boxes).float().to(device)
        gt.labels = torch.from_numpy(rng.integers(0, 80, num_gt)).to(device)
        gt.masks = PolygonMasks(polys, h, w)
        s.gt_instances = gt
        samples.append(s)
        p = InstanceData()
        jitter = torch.from_numpy(rng.normal(0, 8, (1000, 4))).float()
        p.bboxes = (
            gt.bboxes.repeat(1000 // num_gt + 1, 1)[:1000] + jitter.to(device))
        p.scores = torch.rand(1000)
        proposals.append(p)
    feats, _, _ = make_inputs(1, 80, img_hw, device)
    feats = tuple(f.repeat(2, 1, 1, 1).requires_grad_() for f in feats)

    def step(head):
        torch.manual_seed(0)
        losses = head.loss(feats, copy.deepcopy(proposals), samples)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()

    t_o, m_o = run(lambda: step(ours), repeat, device)
    t_m, m_m = run(lambda: step(theirs), repeat, device)
    return ('\n\nTraining step of the RoI head (2 images of '
            f'{h}x{w}, {num_gt} polygon instances each, 512 sampled RoIs '
            'per image, forward + backward, box branch included):\n\n'
            '| | mmdet time (s) | ours time (s) | speed-up | mmdet peak mem '
            '(MB) | ours peak mem (MB) |\n|---|---|---|---|---|---|\n'
            f'| train step | {t_m:.3f} | {t_o:.3f} | {t_m / t_o:.2f}x | '
            f'{m_m:.0f} | {m_o:.0f} |')


MASK_RCNN_CFG = osp.join(
    REPO, 'configs/mask_rcnn/mask-rcnn_r50-caffe_fpn_ms-poly-1x-iter_coco.py')


def _host_vs_ours(title, host, ours, repeat, device) -> str:
    """Time and peak memory of a host's post-processing and PointRend's on
    the same input, and how many mask pixels agree, as a table."""
    with torch.no_grad():
        ours(), host()  # warm-up
        t_host, m_host = run(host, repeat, device)
        t_ours, m_ours = run(ours, repeat, device)
        a, b = host(), ours()
    agree = float((a.masks == b.masks).float().mean())
    return (f'\n\n{title}:\n\n'
            '| | host (mmdet) | + PointRend | ratio |\n|---|---|---|---|\n'
            f'| time (s) | {t_host:.2f} | {t_ours:.2f} | '
            f'{t_ours / t_host:.2f}x |\n'
            f'| peak mem (MB) | {m_host:.0f} | {m_ours:.0f} | '
            f'{m_ours / max(m_host, 1):.2f}x |\n'
            f'| pixels equal to the host\'s masks | | {100 * agree:.2f}% | |')


RTMDET_PR_CFG = osp.join(
    REPO, 'configs/point_rend_dense/'
    'point-rend_rtmdet-ins_tiny_8xb32-300e_coco.py')


def _cpu_model(cfg, device):
    """The model of ``cfg`` on random weights (SyncBN as BN, no pretrained
    download)."""
    from mmdet.registry import MODELS

    from mmpointrend.apis.runner_utils import offline_cpu_model_cfg
    model = MODELS.build(offline_cpu_model_cfg(cfg))
    model.init_weights()
    return model.to(device)


def dense_refinement_case(device, repeat, num=100, img_hw=(800, 1333)):
    """RTMDet-Ins tiny + PointRend: its post-processing of ``num`` kept
    instances (refinement in each box up to the image's resolution,
    pasting around the box) against the host's own (every stride-8 mask
    upsampled to the image), same instances, random weights."""
    from mmdet.models.dense_heads import RTMDetInsSepBNHead
    from mmdet.utils import register_all_modules
    from mmengine.config import ConfigDict
    register_all_modules()
    model = _cpu_model(Config.fromfile(RTMDET_PR_CFG).model, device).eval()
    head = model.bbox_head
    torch.nn.init.normal_(head.point_head.fc_logits.weight, std=0.05)
    g = torch.Generator().manual_seed(0)
    h, w = img_hw
    pad_h, pad_w = -(-h // 32) * 32, -(-w // 32) * 32
    size = torch.rand(num, 2, generator=g) * 0.4 * min(h, w) + 16
    xy = torch.rand(num, 2, generator=g) * (torch.tensor([w, h]) - size)
    boxes = torch.cat([xy, xy + size], 1)
    results = InstanceData(
        bboxes=boxes,
        priors=torch.cat(
            [xy + size / 2, torch.full((num, 2), 8.)], 1),
        scores=torch.rand(num, generator=g),
        labels=torch.randint(80, (num, ), generator=g),
        kernels=torch.randn(num, head.num_gen_params, generator=g) * 0.5)
    results = results.to(device)
    mask_feat = torch.randn(
        head.num_prototypes, pad_h // 8, pad_w // 8, generator=g).to(device)
    fine = torch.randn(
        1, head.point_head.in_channels, pad_h // 4, pad_w // 4,
        generator=g).to(device)
    meta = dict(img_shape=img_hw, ori_shape=img_hw, scale_factor=(1., 1.))
    cfg = ConfigDict(head.test_cfg)
    cfg.nms = dict(type='nms', iou_threshold=1.0)  # keep all of them
    # host logits with a shape (random weights give noise): a disk in each
    # box, 2 logits per stride from its edge
    centres, radii = xy + size / 2, size.min(1).values / 2
    ys = (torch.arange(pad_h // 8) + 0.5) * 8
    xs = (torch.arange(pad_w // 8) + 0.5) * 8

    def disks(mask_feat, kernels, priors):
        index = torch.cdist(priors[:, :2].cpu(), centres).argmin(1)
        c, r = centres[index], radii[index]
        d = ((xs[None, None] - c[:, 0, None, None])**2 +
             (ys[None, :, None] - c[:, 1, None, None])**2).sqrt()
        return (2 * (r[:, None, None] - d) / 8).to(mask_feat.device)

    head._mask_predict_by_feat_single = disks

    def host():
        return RTMDetInsSepBNHead._bbox_mask_post_process(
            head, results.clone(), mask_feat, cfg, True, True, meta)

    def ours():
        return head.post_process_image(results.clone(), mask_feat, fine, cfg,
                                       meta)

    return _host_vs_ours(
        f'RTMDet-Ins tiny post-processing of {num} instances at {h}x{w} '
        '(same instances and weights)', host, ours, repeat, device)


M2F_PR_CFG = osp.join(
    REPO, 'configs/point_rend_dense/'
    'point-rend_mask2former_r50_8xb2-lsj-50e_coco.py')


def mask2former_refinement_case(device, repeat, num=100, img_hw=(800, 1333)):
    """Mask2Former R50 + PointRend: instance post-processing of 100
    queries' stride-4 logits, ours (the kept instances refined in their
    boxes) against mmdet's (every query upsampled to the input, then
    ``instance_postprocess``), same logits and weights."""
    import torch.nn.functional as F
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(M2F_PR_CFG).model
    cfg.data_preprocessor.batch_augments = None
    model = _cpu_model(cfg, device).eval()
    head, fusion = model.panoptic_head, model.panoptic_fusion_head
    torch.nn.init.normal_(head.point_head.fc_logits.weight, std=0.05)
    g = torch.Generator().manual_seed(0)
    h, w = img_hw
    pad_h, pad_w = -(-h // 32) * 32, -(-w // 32) * 32
    ys = (torch.arange(pad_h // 4) + 0.5) * 4
    xs = (torch.arange(pad_w // 4) + 0.5) * 4
    centres = torch.rand(num, 2, generator=g) * torch.tensor([w, h])
    radii = torch.rand(num, generator=g) * 0.2 * min(h, w) + 8
    dist = ((xs[None, None] - centres[:, 0, None, None])**2 +
            (ys[None, :, None] - centres[:, 1, None, None])**2).sqrt()
    mask_pred = ((radii[:, None, None] - dist) / 4).to(device)
    mask_cls = torch.randn(num, 81, generator=g).to(device)
    fine = torch.randn(1, 256, pad_h // 4, pad_w // 4, generator=g).to(device)
    meta = dict(img_shape=img_hw, ori_shape=img_hw, scale_factor=(1., 1.))

    def host():
        up = F.interpolate(
            mask_pred[None],
            size=(pad_h, pad_w),
            mode='bilinear',
            align_corners=False)[0][:, :h, :w]
        return fusion.instance_postprocess(mask_cls, up)

    def ours():
        with head.mask_refiner.reading(fine):
            return head.predict_instances(mask_cls, mask_pred, 0, meta,
                                          fusion.test_cfg,
                                          fusion.num_things_classes, True)

    return _host_vs_ours(
        f'Mask2Former R50 instance post-processing of {num} queries at '
        f'{h}x{w} (same logits and weights)', host, ours, repeat, device)


def _release_free_memory():
    """Hand the heap's free pages back to the OS (glibc ``malloc_trim``), so
    that the next peak is measured from the live memory, not from what an
    earlier step left cached."""
    import ctypes
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except OSError:  # not glibc
        pass


def dense_loss_case(device, repeat, num_gt=40, img_hw=(640, 640)):
    """One training step of RTMDet-Ins tiny (forward and backward, batch
    2, ``num_gt`` instances per image): mmdet's dense mask loss at
    ``mask_loss_stride`` 4 and 1 against :class:`PointSampledMaskLoss`
    (stride-8 logits vs full-resolution masks at 112x112 points per
    instance). Peak memory after ``malloc_trim`` (the warm-up step's freed
    heap is returned first)."""
    from mmdet.testing import demo_mm_inputs
    from mmdet.utils import register_all_modules
    register_all_modules()
    base = Config.fromfile(RTMDET_PR_CFG).model
    variants = {}
    for name, head_update in (
        ('dense, mask_loss_stride=4', dict(mask_loss_stride=4)),
        ('dense, mask_loss_stride=1', dict(mask_loss_stride=1)),
        ('PointSampledMaskLoss',
         dict(loss_mask=dict(type='PointSampledMaskLoss'))),
    ):
        cfg = copy.deepcopy(base)
        cfg.backbone.out_indices = (2, 3, 4)
        cfg.neck = cfg.neck.neck
        cfg.bbox_head.point_rend = None
        for key, value in head_update.items():  # replace, not merge
            cfg.bbox_head[key] = value
        variants[name] = cfg
    packed = demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, *img_hw)] * 2,
        num_items=[num_gt] * 2,
        num_classes=80,
        with_mask=True)
    rows = []
    for name, cfg in variants.items():
        torch.manual_seed(0)
        model = _cpu_model(cfg, device).train()
        data = model.data_preprocessor(copy.deepcopy(packed), True)

        def step():
            losses = model(**copy.deepcopy(data), mode='loss')
            total, _ = model.parse_losses(losses)
            total.backward()
            model.zero_grad()
            return total.detach()

        step()  # warm-up
        _release_free_memory()
        rows.append((name, *run(step, repeat, device)))
    base_t, base_m = rows[0][1], rows[0][2]
    lines = [
        f'\n\nRTMDet-Ins tiny training step, batch 2 at {img_hw[0]}x'
        f'{img_hw[1]}, {num_gt} instances per image:\n',
        '| mask loss | time (s) | vs stride 4 | peak mem (MB) | '
        'vs stride 4 |', '|---|---|---|---|---|'
    ]
    for name, t, m in rows:
        lines.append(f'| {name} | {t:.2f} | {t / base_t:.2f}x | {m:.0f} | '
                     f'{m / max(base_m, 1):.2f}x |')
    return '\n'.join(lines)


def build_detectors(device):
    """Our PointRend, mmdet's PointRend and the 4x conv Mask R-CNN, all
    R50-FPN, sharing backbone, neck, RPN and box head weights (random, but
    realistic magnitudes) and the PointRend mask branch."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    models = {}
    for name, path in (('mask_rcnn', MASK_RCNN_CFG), ('ours', OURS_CFG),
                       ('mmdet', mmdet_config(MMDET_CFG))):
        cfg = Config.fromfile(path).model
        cfg.backbone.init_cfg = None
        # every image gives exactly 100 detections
        cfg.test_cfg.rcnn.update(score_thr=0.0, max_per_img=100)
        models[name] = MODELS.build(cfg).to(device).eval()
    ours = models['ours']
    ours.init_weights()
    torch.nn.init.normal_(ours.roi_head.point_head.fc_logits.weight, std=0.05)
    torch.nn.init.normal_(ours.roi_head.mask_head.predictor.weight, std=0.01)
    state = ours.state_dict()
    models['mmdet'].load_state_dict(mmpointrend_to_mmdet(state, 'roi_head.'))
    models['mask_rcnn'].init_weights()
    shared = {
        k: v
        for k, v in state.items()
        if not k.startswith(('roi_head.mask_', 'roi_head.point_head'))
    }
    missing = models['mask_rcnn'].load_state_dict(shared, strict=False)
    assert not missing.unexpected_keys, missing.unexpected_keys
    return models


def end_to_end(device, img_hw, repeat):
    """Images/s and peak memory of whole-model inference on one image, and
    the time of each part (same weights and detections for the parts that
    the models share)."""
    from mmdet.structures import DetDataSample
    g = torch.Generator().manual_seed(0)
    h, w = img_hw
    sample = DetDataSample()
    sample.set_metainfo(
        dict(
            img_shape=img_hw,
            ori_shape=img_hw,
            scale_factor=(1.0, 1.0),
            pad_shape=img_hw,
            batch_input_shape=img_hw))
    data = dict(
        inputs=[
            torch.randint(0, 255, (3, h, w), generator=g, dtype=torch.uint8)
        ],
        data_samples=[sample])
    models = build_detectors(device)
    rows = []
    for name, model in models.items():
        with torch.no_grad():
            for _ in range(2):  # warm-up (allocator, threads, first pages)
                model.test_step(copy.deepcopy(data))
            t_all, m_all = run(lambda: model.test_step(copy.deepcopy(data)),
                               repeat, device)
            batch = model.data_preprocessor(copy.deepcopy(data), False)
            metas = [s.metainfo for s in batch['data_samples']]
            t_bb, _ = run(lambda: model.extract_feat(batch['inputs']), repeat,
                          device)
            x = model.extract_feat(batch['inputs'])

            def boxes():
                rpn = model.rpn_head.predict(x, batch['data_samples'])
                return model.roi_head.predict_bbox(
                    x, metas, rpn, model.roi_head.test_cfg, rescale=False)

            t_box, _ = run(boxes, repeat, device)
            det = boxes()
            t_mask, _ = run(
                lambda: model.roi_head.predict_mask(
                    x, metas, copy.deepcopy(det), rescale=True), repeat,
                device)
        num = len(det[0])
        rows.append((name, t_all, m_all, t_bb, t_box, t_mask, num))
        print(
            f'{name}: {t_all:.2f} s/image, {m_all:.0f} MB; backbone '
            f'{t_bb:.2f}, RPN + box head {t_box:.2f}, mask branch '
            f'{t_mask:.2f} s ({num} detections)',
            flush=True)
    base = rows[0][1]  # Mask R-CNN
    names = dict(
        ours='PointRend (ours)',
        mmdet="PointRend (mmdet's)",
        mask_rcnn='4x conv Mask R-CNN')
    lines = [
        f'\n\nEnd to end, R50-FPN, one {h}x{w} image, 100 detections '
        '(preprocessing, backbone + FPN, RPN, box head, mask branch, pasting '
        'at the image size):\n',
        '| model | images/s | s/image | vs Mask R-CNN | peak mem (MB) | '
        'backbone + FPN (s) | RPN + box head (s) | mask branch + paste (s) |',
        '|' + '---|' * 8
    ]
    for name, t_all, m_all, t_bb, t_box, t_mask, _ in rows:
        lines.append(
            f'| {names[name]} | {1 / t_all:.3f} | {t_all:.2f} | '
            f'{t_all / base:.2f}x | {m_all:.0f} | {t_bb:.2f} | {t_box:.2f} '
            f'| {t_mask:.2f} |')
    return '\n'.join(lines)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    img_hw = tuple(int(v) for v in args.img.split('x'))
    device = args.device
    rows = []
    heads = {}
    print(f'device: {device}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads, {platform.processor() or "?"}'
          f', input {img_hw[0]}x{img_hw[1]}, 5 steps x 28^2 points, '
          '224x224 masks')
    for case in (args.cases if args.instance else []):
        num_boxes, num_classes = (int(v) for v in case.split('x'))
        if num_classes not in heads:
            heads[num_classes] = build_heads(num_classes, device)
        ours, theirs = heads[num_classes]
        feats, metas, results = make_inputs(num_boxes, num_classes, img_hw,
                                            device)
        with torch.no_grad():
            # warm-up (allocator, threads) on a few boxes
            ours.predict_mask(feats, metas, [results[0][:4]])
            t_ours, m_ours = run(
                lambda: ours.predict_mask(
                    feats, metas, [copy.deepcopy(results[0])]), args.repeat,
                device)
            need_gb = num_boxes * num_classes * 224 * 224 * 4 / 2**30
            if need_gb <= args.mmdet_mem_limit:
                theirs.predict_mask(feats, copy.deepcopy(metas),
                                    [results[0][:4]])
                t_mm, m_mm = run(
                    lambda: theirs.predict_mask(feats, copy.deepcopy(metas),
                                                [copy.deepcopy(results[0])]),
                    max(1, args.repeat - 2), device)
            else:
                t_mm = m_mm = None
            floor = mlp_floor(ours, num_boxes, num_classes, 784, 4, device,
                              args.repeat)
        rows.append(
            dict(
                case=case,
                boxes=num_boxes,
                classes=num_classes,
                t_ours=t_ours,
                m_ours=m_ours,
                t_mm=t_mm,
                m_mm=m_mm,
                need_gb=need_gb,
                floor=floor))
        r = rows[-1]
        print(
            f'{case}: ours {t_ours:.2f} s / {m_ours:.0f} MB; mmdet ' +
            (f'{t_mm:.2f} s / {m_mm:.0f} MB'
             if t_mm is not None else f'skipped (needs > {need_gb:.0f} GB)') +
            f'; MLP floor {floor:.2f} s',
            flush=True)

    lines = [
        '| boxes x classes | mmdet time (s) | ours time (s) | speed-up | '
        'mmdet peak mem (MB) | ours peak mem (MB) | memory ratio | '
        'naive MLP floor (s) | ours / floor |', '|' + '---|' * 9
    ]
    for r in rows:
        if r['t_mm'] is None:
            mm = (f"skipped (its (R, K, 224, 224) tensor alone is "
                  f"{r['need_gb']:.0f} GB)", '-', '-', '-', '-')
        else:
            mm = (f"{r['t_mm']:.2f}", None, f"{r['t_mm'] / r['t_ours']:.1f}x",
                  f"{r['m_mm']:.0f}",
                  f"{r['m_mm'] / max(r['m_ours'], 1):.0f}x")
        lines.append(
            f"| {r['boxes']} x {r['classes']} | {mm[0]} | {r['t_ours']:.2f} "
            f"| {mm[2]} | {mm[3]} | {r['m_ours']:.0f} | {mm[4]} | "
            f"{r['floor']:.2f} | {r['t_ours'] / r['floor']:.2f} |")
    table = '\n'.join(lines) if rows else ''
    print('\n' + table)
    if args.end_to_end:
        extra = end_to_end(device, img_hw, args.repeat)
        print(extra, flush=True)
        table += extra
    if args.semantic:
        table += semantic_cases(device, args.repeat)
    if args.dense:
        extra = dense_refinement_case(device, args.repeat)
        extra += mask2former_refinement_case(device, args.repeat)
        extra += dense_loss_case(device, args.repeat)
        print(extra, flush=True)
        table += extra
    if args.train:
        extra = train_step_case(device, args.repeat)
        print(extra, flush=True)
        table += extra
    if not args.no_flops and args.instance:
        ours, theirs = heads.get(80) or build_heads(80, device)
        cx = one_mask_complexity(ours, theirs, img_hw, device)
        extra = ('\n\nOne 224x224 mask, 80 classes (mmengine FlopAnalyzer / '
                 'ActivationAnalyzer; grid_sample and topk are not counted):'
                 '\n\n| head | GFLOPs (multiply-adds) | activations (M) |\n'
                 '|---|---|---|\n' +
                 '\n'.join(f'| {k} | {v[0]:.2f} | {v[1]:.2f} |'
                           for k, v in cx.items()) +
                 '\n| paper Table 2, PointRend | 0.9 | 0.7 |')
        print(extra)
        table += extra
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')


if __name__ == '__main__':
    main()
