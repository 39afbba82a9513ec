"""docs/design.md "Adding a host" as written: a subclass of mmdet's
StandardRoIHead plus the mixin and one method trains and infers with
PointRend, with our state-dict keys, and its own coarse prediction is the
one refined."""
import torch
from helpers import det_sample, feats, small_roi_head_cfg
from mmdet.registry import MODELS
from toy_host import ToyPointRendHost


def _pair():
    ours = MODELS.build(small_roi_head_cfg())
    ours.init_weights()
    # a coarse head whose output depends visibly on its input
    torch.nn.init.normal_(ours.mask_head.predictor.weight, std=0.05)
    toy = MODELS.build(dict(small_roi_head_cfg(), type='ToyPointRendHost'))
    toy.load_state_dict(ours.state_dict())
    return ours, toy


def test_the_toy_host_is_one_method():
    # (ABCMeta adds _abc_impl to every subclass of mmdet's RoI heads)
    own = {k for k in vars(ToyPointRendHost) if not k.startswith('_')}
    assert own == {'coarse_predictions'}


def test_toy_host_trains_with_pointrend():
    ours, toy = _pair()
    assert list(toy.state_dict()) == list(ours.state_dict())
    x = tuple(f.requires_grad_() for f in feats(batch=2))

    def samples():  # mmdet's loss consumes the proposals
        return [det_sample(seed=0), det_sample(seed=1, polygons=False)]

    torch.manual_seed(0)
    batch = samples()
    losses = toy.loss(x, [s.proposals for s in batch], batch)
    assert {'loss_cls', 'loss_bbox', 'loss_mask', 'loss_point'} <= set(losses)
    (losses['loss_mask'] + losses['loss_point']).backward()
    assert toy.point_head.fcs[0].weight.grad.abs().sum() > 0
    assert toy.mask_head.reduce.weight.grad.abs().sum() > 0
    torch.manual_seed(0)
    batch = samples()
    reference = ours.loss(x, [s.proposals for s in batch], batch)
    (reference['loss_mask'] + reference['loss_point']).backward()
    # the toy's coarse prediction is the one trained: its coarse head's
    # input has the context term, so its gradient differs
    grad, ref_grad = (h.mask_head.reduce.weight.grad for h in (toy, ours))
    assert (grad - ref_grad).abs().max() > 1e-3 * ref_grad.abs().max()


def test_toy_host_infers_with_pointrend():
    ours, toy = _pair()
    ours.eval(), toy.eval()
    x = feats(batch=1)
    sample = det_sample(seed=2)
    sample.set_metainfo(dict(ori_shape=(128, 128), scale_factor=(2.0, 2.0)))
    with torch.no_grad():
        out = toy.predict(x, [sample.proposals], [sample], rescale=True)[0]
        rois = torch.cat([torch.zeros(3, 1), sample.gt_instances.bboxes], 1)
        labels = torch.tensor([0, 1, 2])
        refined = toy.refine_masks(x, rois, labels)
        reference = ours.refine_masks(x, rois, labels)
    assert out.masks.shape[1:] == (128, 128) and out.masks.dtype == torch.bool
    assert len(out) > 0 and out.masks.any()
    assert refined.shape == (3, 1, 224, 224)
    assert not torch.allclose(refined, reference)
