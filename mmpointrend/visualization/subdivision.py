"""Pictures of PointRend's subdivision (paper Fig. 1, 4 and 9).

Runs a model on one image, then runs its subdivision again with a step
callback (``on_step``, no global recorder) and draws, per detected object,
the coarse 7x7 prediction, every step's upsampled prediction with the points
chosen at that step, and the final mask; for semantic segmentation, every
step's label map with its points.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import mmcv
import numpy as np
import torch
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope

PANEL = 224  # display size of each instance panel
RED = (0, 0, 255)


def _header(img: np.ndarray, text: str, height: int = 18) -> np.ndarray:
    bar = np.full((height, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], 0)


def _gray(prob: np.ndarray, size: int) -> np.ndarray:
    g = cv2.resize(
        (prob * 255).astype(np.uint8), (size, size),
        interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)


def _dots(img: np.ndarray, points: np.ndarray, radius: int = 1) -> np.ndarray:
    """Points ``(N, 2)`` relative ``(x, y)`` in [0, 1] as red dots."""
    h, w = img.shape[:2]
    for x, y in points:
        cv2.circle(img, (int(x * w), int(y * h)), radius, RED, -1)
    return img


def _join(panels: List[np.ndarray], axis: int, gap: int = 4) -> np.ndarray:
    """Panels side by side (``axis=1``) or stacked (``axis=0``) with white
    gaps between them."""
    shape = list(panels[0].shape)
    shape[axis] = gap
    spacer = np.full(shape, 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [spacer, p]
    return np.concatenate(out, axis)


def draw_instance_subdivision(img: np.ndarray, bbox: np.ndarray,
                              records: List[dict], row: int,
                              final_mask: np.ndarray,
                              label: str) -> np.ndarray:
    """One object's strip: crop, coarse 7x7, each step with its points,
    final mask on the crop.

    Args:
        img (np.ndarray): the image (BGR).
        bbox (np.ndarray): ``(4,)`` the object's box in image pixels.
        records (list[dict]): the refinement's steps, each with the
            ``region_offset`` of its chunk.
        row (int): the object's row among the refined boxes.
        final_mask (np.ndarray): ``(H, W)`` bool pasted mask.
        label (str): class name and score.
    """
    x1, y1, x2, y2 = [int(round(v)) for v in bbox]
    x1, y1 = max(x1, 0), max(y1, 0)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    crop = cv2.resize(img[y1:y2, x1:x2], (PANEL, PANEL))
    panels = [_header(crop, label)]
    # the chunk that holds the object, and its row there
    records = [
        r for r in records
        if 0 <= row - r['region_offset'] < r['input'].shape[0]
    ]
    row -= records[0]['region_offset']
    coarse = torch.sigmoid(records[0]['input'][row, 0]).numpy()
    panels.append(
        _header(
            _gray(coarse, PANEL),
            f'coarse {coarse.shape[0]}x{coarse.shape[1]}'))
    for t, rec in enumerate(records):
        if rec['indices'] is None:
            continue
        regions = rec['regions']
        if regions is not None and row not in regions.tolist():
            continue
        r = row if regions is None else regions.tolist().index(row)
        up = torch.sigmoid(rec['upsampled'][row, 0]).numpy()
        pts = rec['points'][r].numpy()
        panel = _dots(_gray(up, PANEL), pts)
        panels.append(
            _header(
                panel, f'step {t + 1}: {up.shape[0]}x'
                f'{up.shape[1]}, {len(pts)} pts'))
    mask = cv2.resize(
        final_mask[y1:y2, x1:x2].astype(np.uint8), (PANEL, PANEL),
        interpolation=cv2.INTER_NEAREST) > 0
    overlay = crop.copy()
    overlay[mask] = (0.45 * overlay[mask] +
                     0.55 * np.array([60, 200, 60])).astype(np.uint8)
    final = torch.sigmoid(records[-1]['output'][row, 0])
    panels.append(
        _header(overlay, f'final {final.shape[0]}x'
                f'{final.shape[1]}'))
    return _join(panels, 1)


def _model_inputs(model, img_path: str) -> dict:
    """The image through the config's test pipeline and the model's data
    preprocessor: ``inputs`` (1, 3, H, W) and ``data_samples``."""
    pipeline = [
        t for t in model.cfg.test_dataloader.dataset.pipeline
        if t['type'] != 'LoadAnnotations'
    ]
    data = Compose(pipeline)(dict(img_path=img_path, img_id=0))
    return model.data_preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
        False)


def instance_subdivision_pictures(model,
                                  img_path: str,
                                  out_dir: str,
                                  max_objects: int = 4,
                                  score_thr: float = 0.3) -> List[str]:
    """Run an mmdet PointRend detector on an image and save one strip per
    object (the highest-scoring ``max_objects``). Returns the file paths."""
    from mmdet.apis import inference_detector
    from mmdet.structures.bbox import bbox2roi
    if not hasattr(model.roi_head, 'refine_masks'):
        raise ValueError(f'{type(model.roi_head).__name__} is not a '
                         'PointRend RoI head')
    with DefaultScope.overwrite_default_scope('mmdet'):
        inst = inference_detector(model, img_path).pred_instances
        order = [i for i in range(len(inst)) if inst.scores[i] >= score_thr]
        order = order[:max_objects]
        if not order:
            return []
        batch = _model_inputs(model, img_path)
    scale = inst.bboxes.new_tensor(
        batch['data_samples'][0].scale_factor).repeat(2)
    records: List[dict] = []
    cfg = model.roi_head.test_cfg
    adaptive = cfg.adaptive_resolution
    cfg.adaptive_resolution = False  # one step count for every strip
    try:
        with torch.no_grad():
            model.roi_head.refine_masks(
                model.extract_feat(batch['inputs']),
                bbox2roi([inst.bboxes[order] * scale]),
                inst.labels[order],
                on_step=records.append)
    finally:  # the caller's model keeps its own settings
        cfg.adaptive_resolution = adaptive
    img = mmcv.imread(img_path)
    classes = model.dataset_meta.get('classes', ()) if model.dataset_meta \
        else ()
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(img_path))[0]
    paths = []
    for k, i in enumerate(order):
        label = int(inst.labels[i])
        name = classes[label] if label < len(classes) else str(label)
        strip = draw_instance_subdivision(
            img, inst.bboxes[i].numpy(), records, k, inst.masks[i].numpy(),
            f'{name} {float(inst.scores[i]):.2f}')
        path = osp.join(out_dir, f'{stem}_obj{k}_{name}.png')
        cv2.imwrite(path, strip)
        paths.append(path)
    return paths


def _palette(n: int, palette: Optional[Sequence] = None) -> np.ndarray:
    if palette is not None and len(palette) >= n:
        return np.array(palette, np.uint8)[:, ::-1]  # RGB -> BGR
    rng = np.random.RandomState(3)
    return rng.randint(0, 255, (n, 3)).astype(np.uint8)


def semantic_subdivision_picture(model,
                                 img_path: str,
                                 out_dir: str,
                                 max_points_drawn: int = 4000) -> str:
    """Run an mmseg semantic PointRend model and save the coarse map, each
    step's map with its chosen points, and the final map, stacked."""
    from mmseg.apis import inference_model
    heads = getattr(model, 'decode_head', None)
    if not isinstance(heads, torch.nn.ModuleList) or not hasattr(
            heads[-1], 'point_head'):
        raise ValueError('not a semantic PointRend model (a '
                         'CascadeEncoderDecoder ending in '
                         'PointRendSemanticHead)')
    records: List[dict] = []
    with DefaultScope.overwrite_default_scope('mmseg'):
        result = inference_model(model, img_path)
        batch = _model_inputs(model, img_path)
        metas = [s.metainfo for s in batch['data_samples']]
        with torch.no_grad():
            x = model.extract_feat(batch['inputs'])
            coarse = heads[0].forward(x)
            for head in heads[1:-1]:
                coarse = head.forward(x, coarse)
            heads[-1].predict(
                x, coarse, metas, model.test_cfg, on_step=records.append)
    img = mmcv.imread(img_path)
    h, w = img.shape[:2]
    num_classes = records[0]['input'].shape[1]
    meta = model.dataset_meta or {}
    colours = _palette(num_classes, meta.get('palette'))

    def colour(logits: torch.Tensor) -> np.ndarray:
        lab = logits[0].argmax(0).numpy()
        return cv2.resize(
            colours[lab], (w, h), interpolation=cv2.INTER_NEAREST)

    rows = [
        _header(img, 'image'),
        _header(
            colour(records[0]['input']),
            'coarse {}x{}'.format(*records[0]['input'].shape[-2:]))
    ]
    for t, rec in enumerate(records):
        if rec['indices'] is None:
            continue
        panel = colour(rec['upsampled'])
        pts = rec['points'][0].numpy()
        step = max(1, len(pts) // max_points_drawn)
        _dots(panel, pts[::step], radius=1)
        rows.append(
            _header(
                panel,
                'step {}: {}x{}, {} pts'.format(t + 1,
                                                *rec['upsampled'].shape[-2:],
                                                len(pts))))
    final = colours[result.pred_sem_seg.data[0].numpy()]
    rows.append(_header(final, 'final {}x{}'.format(h, w)))
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir,
                    osp.splitext(osp.basename(img_path))[0] + '_steps.png')
    cv2.imwrite(path, _join(rows, 0))
    return path
