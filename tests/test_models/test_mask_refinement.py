"""MaskRefinement's pasting path with resolution-adaptive steps: boxes
grouped by their step count, each group refined only as far as its own
steps (a dense host's refiner on random maps)."""
import torch
from mmengine.structures import InstanceData

from mmpointrend.models.dense_heads.point_rend_dense_refiner import \
    PointRendDenseRefiner
from mmpointrend.models.utils import paste_masks


def _refiner() -> PointRendDenseRefiner:
    torch.manual_seed(0)
    refiner = PointRendDenseRefiner(
        point_head=dict(type='PointRendPointHead', fc_channels=16),
        fine_channels=8,
        coarse_size=14,
        test_cfg=dict(
            subdivision_steps=4,
            subdivision_num_points=14 * 14,
            adaptive_resolution=True,
            chunk_memory_mb=0.5))  # several chunks per group
    refiner.point_head.init_weights()
    torch.nn.init.normal_(refiner.point_head.fc_logits.weight, std=0.3)
    return refiner


def _instances():
    # boxes of 10 to 200 px: 0, 1, 2, 3 and 4 steps from a 14-cell grid
    boxes = torch.tensor([[2., 3., 12., 11.], [20., 20., 45., 40.],
                          [5., 50., 60., 100.], [100., 10., 200., 110.],
                          [0., 0., 200., 190.], [30., 30., 38., 36.]])
    return InstanceData(
        bboxes=boxes, labels=torch.arange(6) % 3, scores=torch.ones(6))


def test_groups_stop_at_their_own_steps_and_paste_the_same_masks():
    torch.manual_seed(1)
    fine = torch.randn(1, 8, 50, 50)
    # the host's stride-8 maps of a 200 px input: a disc in each box
    boxes = _instances().bboxes
    centres = (boxes[:, :2] + boxes[:, 2:]) / 16
    radii = ((boxes[:, 2:] - boxes[:, :2]).amin(1) / 16).clamp(min=0.75)
    cells = torch.stack(
        torch.meshgrid(torch.arange(25.), torch.arange(25.), indexing='xy'),
        -1) + 0.5
    dist = (cells[None] - centres[:, None, None]).norm(dim=-1)
    logits = 4 * (1 - dist / radii[:, None, None])
    meta = dict(
        ori_shape=(200, 200), img_shape=(200, 200), scale_factor=(1., 1.))
    refiner = _refiner()
    rois = torch.cat([torch.zeros(6, 1), boxes], 1)
    labels = torch.zeros(6, dtype=torch.long)
    with refiner.reading(fine):
        coarse_fn = refiner.coarse_fn(logits, 0, (200, 200))
        # every box to the largest box's resolution, each predicted for
        # its own steps and only upsampled after them
        full = refiner.refine_masks(coarse_fn, rois, labels)
        groups = refiner.refine_masks_grouped(coarse_fn, rois, labels)
        grouped = refiner.predict(coarse_fn, [_instances()], [meta],
                                  True)[0].masks
    assert full.shape[-1] == 14 * 2**4
    # each group stops at the first side reaching its boxes: 0 to 4 steps
    sides = {int(i): g.shape[-1] for indices, g in groups for i in indices}
    assert sides == {0: 14, 1: 28, 2: 56, 3: 112, 4: 224, 5: 14}
    fixed = paste_masks(full[:, 0].sigmoid(), boxes, 200, 200, 0.5)
    assert grouped.shape == fixed.shape == (6, 200, 200)
    # the same masks but for the bilinear resampling of pasting from the
    # box's own grid instead of its upsampled copy: a few boundary pixels
    differ = (grouped != fixed).flatten(1).sum(1)
    area = fixed.flatten(1).sum(1)
    assert (area > 0).all() and (area[1:5] > 100).all()
    assert (differ <= 0.02 * area + 2).all(), (differ, area)
