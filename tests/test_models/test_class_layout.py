"""class_layout unit tests: a class axis's sizes and source indices, name
matching, and remap_class_weights on a coarse head + mmdet box head whose
every copied block can be checked."""
import pytest
import torch
from mmdet.registry import MODELS

from mmpointrend.models.class_layout import (ClassAxis, class_axes_of,
                                             match_classes,
                                             remap_class_weights)


def test_axis_sizes_and_class_counts():
    axis = ClassAxis.blocks(0, group=4, before=2, after=1)
    assert axis.size(3) == 2 + 12 + 1 and axis.fixed == 3
    assert axis.num_classes(15) == 3 and axis.num_classes(16) is None
    assert axis.num_classes(2) is None  # shorter than the fixed entries
    # model classes (src 2, new, src 0) of a 3-class checkpoint
    index = axis.source_index(3, [2, None, 0]).tolist()
    assert index == [0, 1, 10, 11, 12, 13, -1, -1, -1, -1, 2, 3, 4, 5, 14]


def test_match_classes_by_name_and_map():
    src = ['Person', 'car', 'dog']
    assert match_classes(['dog', 'person', 'widget'],
                         src) == ([2, 0,
                                   None], ['same name', 'same name', 'new'])
    assert match_classes(['pedestrian'], src,
                         {'pedestrian': 'person'}) == ([0], ['class_map'])
    with pytest.raises(KeyError, match='not classes of the model'):
        match_classes(['a'], src, {'b': 'car'})
    with pytest.raises(KeyError, match='not a class of the checkpoint'):
        match_classes(['a'], src, {'a': 'cat'})


class _Heads(torch.nn.Module):

    def __init__(self, num_classes):
        super().__init__()
        self.mask_head = MODELS.build(
            dict(
                type='PointRendCoarseMaskHead',
                num_classes=num_classes,
                in_channels=4,
                conv_out_channels=4,
                fc_out_channels=8))
        self.bbox_head = MODELS.build(
            dict(
                type='Shared2FCBBoxHead',
                in_channels=4,
                fc_out_channels=8,
                roi_feat_size=7,
                num_classes=num_classes))


def test_remap_copies_matched_blocks_and_keeps_the_rest():
    torch.manual_seed(0)
    src, dst = _Heads(3), _Heads(2)
    axes = class_axes_of(dst)
    assert set(axes) == {
        'mask_head.predictor.weight', 'mask_head.predictor.bias',
        'bbox_head.fc_cls.weight', 'bbox_head.fc_cls.bias',
        'bbox_head.fc_reg.weight', 'bbox_head.fc_reg.bias'
    }
    init = {k: v.clone() for k, v in dst.state_dict().items()}
    state = {k: v.clone() for k, v in src.state_dict().items()}
    report = remap_class_weights(dst, state, ['dog', 'new'],
                                 ['cat', 'car', 'dog'])
    dst.load_state_dict(state)
    got = dst.state_dict()
    ref = src.state_dict()
    pred = 'mask_head.predictor.weight'
    assert torch.equal(got[pred][:49], ref[pred][98:147])  # dog's 7x7
    assert torch.equal(got[pred][49:], init[pred][49:])  # new: its init
    cls = 'bbox_head.fc_cls.weight'
    assert torch.equal(got[cls][0], ref[cls][2])
    assert torch.equal(got[cls][2], ref[cls][3])  # background kept
    assert torch.equal(got[cls][1], init[cls][1])
    reg = 'bbox_head.fc_reg.weight'
    assert torch.equal(got[reg][:4], ref[reg][8:12])
    fc = 'mask_head.fcs.0.weight'  # no class dimension: loaded as it is
    assert torch.equal(got[fc], ref[fc])
    assert len(report.remapped) == 6 and not report.initialised
    assert 'dog' in report.table() and 'new' in report.table()


def test_remap_names_the_num_classes_to_set():
    dst = _Heads(2)
    with pytest.raises(ValueError, match='set num_classes to 3'):
        remap_class_weights(dst, dict(dst.state_dict()), ['a', 'b', 'c'],
                            ['a', 'b'])


def test_class_agnostic_point_head_has_no_class_axis():
    """A dense host's point head predicts one mask whatever the class: its
    num_classes=1 is neither checked against the dataset's nor remapped
    (its weights load as they are)."""
    from mmpointrend.models.dense_heads.point_rend_dense_refiner import \
        PointRendDenseRefiner

    def host():
        heads = _Heads(4)
        PointRendDenseRefiner(
            point_head=dict(type='PointRendPointHead', fc_channels=8),
            fine_channels=4).attach(heads)
        return heads

    torch.manual_seed(0)
    src, dst = host(), host()
    assert not any(n.startswith('point_head.') for n in class_axes_of(dst))
    state = src.state_dict()
    report = remap_class_weights(dst, state, ['a', 'b', 'c', 'd'],
                                 ['a', 'b', 'c', 'd'])
    assert report.kept >= len([k for k in state if 'point_head' in k])
    dst.load_state_dict(state)
    assert torch.equal(dst.point_head.fc_logits.weight,
                       src.point_head.fc_logits.weight)
