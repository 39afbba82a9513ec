"""plan_subdivision: the one plan instance and semantic inference, feature
preparation and the ONNX graphs read. Checked against the paper's settings,
against what subdivide actually predicts step by step, and for the semantic
head's sizes capped at the input."""
import pytest
import torch

from mmpointrend.models.utils import (binary_uncertainty, margin_uncertainty,
                                      plan_subdivision, subdivide)


def test_paper_settings():
    """7x7 -> 224x224 in 5 steps of 28^2 points (paper section 4): the
    first step's 14x14 grid is selected whole by the next step, so it only
    upsamples; the other four predict 784 points each."""
    plan = plan_subdivision(7, 7, 5, 28 * 28)
    sizes, cells, covered, predict = map(list, zip(*plan))
    assert sizes == [(14 * 2**i, 14 * 2**i) for i in range(5)]
    assert cells == [14**2, 28**2, 56**2, 112**2, 224**2]
    assert predict == [False, True, True, True, True]
    assert covered == [True, False, False, False, False]


def test_the_last_step_always_predicts():
    # with points enough for every cell of every grid, only the last step
    # predicts (its cells are all refined)
    plan = plan_subdivision(7, 7, 3, 10**6)
    assert [step.predict for step in plan] == [False, False, True]
    assert plan_subdivision(7, 7, 0, 784) == []


@pytest.mark.parametrize('side, steps, points, scale', [(7, 5, 784, 2),
                                                        (7, 3, 196, 2),
                                                        (5, 2, 10, 3),
                                                        (7, 4, 10**6, 2),
                                                        (4, 3, 64, 2)])
def test_subdivide_predicts_what_the_plan_says(side, steps, points, scale):
    calls = []

    def predict(pts, regions):
        calls.append(pts.shape[1])
        return torch.zeros(pts.shape[0], 1, pts.shape[1])

    logits = torch.randn(3, 1, side, side)
    out = subdivide(logits, predict, binary_uncertainty, steps, points, scale)
    assert out.shape[-1] == side * scale**steps
    plan = plan_subdivision(side, side, steps, points, scale)
    assert calls == [min(step.cells, points) for step in plan if step.predict]


def test_semantic_plan_goes_until_the_input_capped_at_it():
    """steps=None: until the target size, each step capped at it; every
    step predicts (mmseg's rule), even one whose cells the next selects."""
    plan = plan_subdivision(16, 32, None, 8096, 2, target=(100, 256))
    assert [step.size for step in plan] == [(32, 64), (64, 128), (100, 256)]
    assert all(step.predict and not step.covered for step in plan)
    assert plan_subdivision(4, 4, None, 10**6, 2, target=(16, 16))[0].predict
    # a stated step count is not capped (the head resizes at the end)
    plan = plan_subdivision(16, 32, 2, 8096, 2, target=(50, 100))
    assert [step.size for step in plan] == [(32, 64), (64, 128)]
    with pytest.raises(ValueError, match='target'):
        plan_subdivision(7, 7, None, 784)


def test_subdivide_lands_on_the_target():
    calls = []

    def predict(pts, regions):
        calls.append(pts.shape[1])
        return torch.zeros(pts.shape[0], 3, pts.shape[1])

    out = subdivide(
        torch.randn(1, 3, 16, 32),
        predict,
        margin_uncertainty,
        None,
        1000,
        target=(100, 256))
    assert out.shape[-2:] == (100, 256) and calls == [1000, 1000, 1000]
