"""First-order optimizers shared by the evolution strategy and the gradient baseline.

Adam (Kingma & Ba 2015) and RMSProp (Tieleman & Hinton 2012), written as
ascent on a fitness: `step(gradient) -> change` to add to the parameters. Their
state (moments and step counter) is plain arrays, so it goes into checkpoints
as it is and a resumed run continues exactly.
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("adam", "rmsprop")

# A decaying learning rate stops at this fraction of its initial value.
LR_FLOOR = 0.1


class Optimizer:
    """Adam or RMSProp over a float64 parameter vector, with optional L2 weight decay.

    Args:
        kind: `adam` or `rmsprop`.
        size: number of parameters.
        learning_rate: step size.
        weight_decay: coefficient of the L2 penalty added to the ascent direction
            (`gradient - weight_decay * params`, as in Salimans et al. 2017).
        half_life: steps over which the learning rate halves, down to
            `LR_FLOOR` times its initial value (0: constant). Adam moves every
            weight by about the learning rate each step whatever the gradient's
            size, so with a constant rate a converging network keeps being knocked
            about by estimation noise; decaying it lets the last characters settle.
    """

    beta1, beta2, rho, eps = 0.9, 0.999, 0.9, 1e-8

    def __init__(self, kind: str, size: int, learning_rate: float, weight_decay: float = 0.0,
                 half_life: float = 0.0):
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {kind!r}; choose one of {OPTIMIZERS}")
        self.kind, self.learning_rate, self.weight_decay = kind, learning_rate, weight_decay
        self.half_life = half_life
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.t = 0

    def step(self, gradient: np.ndarray, params: np.ndarray) -> np.ndarray:
        """The change to add to `params` to climb `gradient` (of the fitness)."""
        g = np.asarray(gradient, dtype=np.float64)
        if self.weight_decay:
            g = g - self.weight_decay * params
        rate = self.rate()  # the rate of step t, counted from 0 (then t becomes t + 1)
        self.t += 1
        if self.kind == "adam":
            self.m = self.beta1 * self.m + (1 - self.beta1) * g
            self.v = self.beta2 * self.v + (1 - self.beta2) * g * g
            # bias correction folded into the step size, as in the Adam paper (sec. 2)
            a = rate * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
            return a * self.m / (np.sqrt(self.v) + self.eps)
        self.v = self.rho * self.v + (1 - self.rho) * g * g
        return rate * g / (np.sqrt(self.v) + self.eps)

    def rate(self) -> float:
        """The learning rate of the next step."""
        if not self.half_life:
            return self.learning_rate
        return self.learning_rate * max(LR_FLOOR, 0.5 ** (self.t / self.half_life))

    def state(self) -> dict[str, np.ndarray]:
        return {"opt_m": self.m, "opt_v": self.v, "opt_t": np.array(self.t, dtype=np.int64)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.m = np.array(arrays["opt_m"], dtype=np.float64)
        self.v = np.array(arrays["opt_v"], dtype=np.float64)
        self.t = int(arrays["opt_t"])
