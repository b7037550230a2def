"""Adam and RMSProp as ascent steps; their state survives a checkpoint exactly."""

from __future__ import annotations

import numpy as np
import pytest

from evonet.algorithms.optimizers import Optimizer


def test_first_adam_step_is_the_learning_rate_along_the_sign():
    """Bias-corrected Adam: m_hat = g, v_hat = g^2 after one step."""
    gradient = np.array([3.0, -0.5, 1e-3])
    change = Optimizer("adam", 3, 0.1).step(gradient, np.zeros(3))
    np.testing.assert_allclose(change, 0.1 * np.sign(gradient), rtol=1e-3)  # eps: 1e-8


def test_first_rmsprop_step():
    gradient = np.array([2.0, -4.0])
    change = Optimizer("rmsprop", 2, 0.01).step(gradient, np.zeros(2))
    np.testing.assert_allclose(change, 0.01 * gradient / np.sqrt(0.1 * gradient ** 2))


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_weight_decay_pulls_toward_zero(kind):
    params = np.array([1.0, -2.0, 0.5])
    change = Optimizer(kind, 3, 0.1, weight_decay=0.01).step(np.zeros(3), params)
    assert (np.sign(change) == -np.sign(params)).all()


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_state_round_trip_continues_exactly(kind):
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(6, 4))
    params = np.zeros(4)
    a = Optimizer(kind, 4, 0.05, 0.001, half_life=2.0)
    for g in gradients[:3]:
        a.step(g, params)
    b = Optimizer(kind, 4, 0.05, 0.001, half_life=2.0)
    b.load_state({k: np.array(v) for k, v in a.state().items()})
    for g in gradients[3:]:
        np.testing.assert_array_equal(a.step(g, params), b.step(g, params))


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="rmsprop"):
        Optimizer("sgd", 2, 0.1)


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_the_learning_rate_halves_every_half_life_down_to_its_floor(kind):
    from evonet.algorithms.optimizers import LR_FLOOR

    gradient = np.array([1.0, -2.0])
    constant, decaying = Optimizer(kind, 2, 0.1), Optimizer(kind, 2, 0.1, half_life=3.0)
    for step in range(20):
        assert decaying.rate() == pytest.approx(0.1 * max(LR_FLOOR, 0.5 ** (step / 3.0)))
        assert constant.rate() == 0.1
        # Same moments, steps scaled by the rate: the decay changes only the step size.
        np.testing.assert_allclose(decaying.step(gradient, np.zeros(2)),
                                   constant.step(gradient, np.zeros(2)) *
                                   max(LR_FLOOR, 0.5 ** (step / 3.0)), rtol=1e-12)
    assert decaying.rate() == pytest.approx(0.1 * LR_FLOOR)
