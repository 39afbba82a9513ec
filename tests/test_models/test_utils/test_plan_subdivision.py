"""plan_subdivision: the one plan inference, feature preparation and the
ONNX graphs read. Checked against the paper's settings and against what
subdivide actually predicts step by step."""
import pytest
import torch

from mmpointrend.models.utils import (binary_uncertainty, plan_subdivision,
                                      subdivide)


def test_paper_settings():
    """7x7 -> 224x224 in 5 steps of 28^2 points (paper section 4): the
    first step's 14x14 grid is selected whole by the next step, so it only
    upsamples; the other four predict 784 points each."""
    plan = plan_subdivision(7, 7, 5, 28 * 28)
    cells, covered, predict = map(list, zip(*plan))
    assert cells == [14**2, 28**2, 56**2, 112**2, 224**2]
    assert predict == [False, True, True, True, True]
    assert covered == [True, False, False, False, False]


def test_the_last_step_always_predicts():
    # with points enough for every cell of every grid, only the last step
    # predicts (its cells are all refined)
    plan = plan_subdivision(7, 7, 3, 10**6)
    assert [p for _, _, p in plan] == [False, False, True]
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
    assert calls == [
        min(cells, points) for cells, _, predict_step in plan if predict_step
    ]
