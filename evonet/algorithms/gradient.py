"""The gradient baseline: backpropagation through time (Werbos 1990) on the same network.

Same `NetworkSpec`, same text, same fitness (the mean log-probability of each
next character, under teacher forcing) as the evolved runs, climbed with Adam
or RMSProp on its exact gradient, with the gradient norm clipped (Pascanu et
al. 2013). It tells how far evolution is from backpropagation on one problem.

It runs inside the same ask/tell loop as the evolutionary algorithms: a
"generation" is one optimizer step, its population the one current network, so
the log, checkpoints, hall of fame and evaluators are shared. The fields that
describe a population (average, spread, diversity, mutation statistics) are
logged as null.

The forward and backward passes here work on one network in float64 (the
gradient check compares them with finite differences); they follow the cells
of `evonet.network` and `evonet.cells` formula for formula.
"""

from __future__ import annotations

import numpy as np

from ..fitness import log_softmax
from ..individuals import make_individual
from ..network import NetworkSpec, init_genomes
from ..text import Task, binary_codes
from .blas import single_thread
from .optimizers import Optimizer

# Log fields that describe a population: meaningless for one network.
POPULATION_FIELDS = ("fitness_avg", "fitness_min", "fitness_std", "diversity", "sigma",
                     "mutation_success", "crossover_success")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def input_vectors(spec: NetworkSpec, inputs: np.ndarray) -> np.ndarray:
    """`(T, I)` float64 input vectors of the character indices (one-hot or binary code)."""
    if spec.encoding == "onehot":
        return np.eye(spec.vocab_size)[inputs]
    return binary_codes(spec.vocab_size)[inputs].astype(np.float64)


def _forward(cell: str, whh: np.ndarray, xs: np.ndarray, hid: int) -> tuple[np.ndarray, list]:
    """Hidden states `(T, H)` from input projections `xs (T, G*H)`, and per-step caches."""
    h, c = np.zeros(hid), np.zeros(hid)
    states, caches = [], []
    for x in xs:
        if cell == "elman":
            h_new = np.tanh(x + whh @ h)
            cache = (h,)
        elif cell == "lstm":
            z = x + whh @ h
            gates = np.concatenate([_sigmoid(z[:3 * hid]), np.tanh(z[3 * hid:])])
            c_new = gates[hid:2 * hid] * c + gates[:hid] * gates[3 * hid:]
            tanh_c = np.tanh(c_new)
            h_new = gates[2 * hid:3 * hid] * tanh_c
            cache = (h, c, gates, tanh_c)
            c = c_new
        else:  # gru, reset after
            rec = whh @ h
            reset_update = _sigmoid(x[:2 * hid] + rec[:2 * hid])
            reset, update = reset_update[:hid], reset_update[hid:]
            new = np.tanh(x[2 * hid:] + reset * rec[2 * hid:])
            h_new = new + update * (h - new)
            cache = (h, reset, update, new, rec[2 * hid:])
        caches.append(cache)
        states.append(h_new)
        h = h_new
    return np.array(states), caches


def _backward(cell: str, whh: np.ndarray, states: np.ndarray, caches: list,
              d_states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients with respect to the input projections and the recurrent products.

    Returns:
        `(T, G*H)` gradient of each step's `Wxh x + bh`, and `(T, G*H)` gradient of
        each step's `Whh h_prev` (they differ only in the GRU's reset-scaled block).
    """
    steps, hid = d_states.shape
    d_x = np.zeros((steps, whh.shape[0]))
    d_rec = np.zeros_like(d_x)
    dh_next, dc_next = np.zeros(hid), np.zeros(hid)
    for t in reversed(range(steps)):
        dh = d_states[t] + dh_next
        if cell == "elman":
            d_x[t] = d_rec[t] = dh * (1.0 - states[t] ** 2)
            dh_next = whh.T @ d_rec[t]
            continue
        if cell == "lstm":
            _, c_prev, gates, tanh_c = caches[t]
            gate_in, forget = gates[:hid], gates[hid:2 * hid]
            gate_out, candidate = gates[2 * hid:3 * hid], gates[3 * hid:]
            dc = dh * gate_out * (1.0 - tanh_c ** 2) + dc_next
            d_post = np.concatenate([dc * candidate, dc * c_prev, dh * tanh_c, dc * gate_in])
            slopes = np.concatenate([gates[:3 * hid] * (1.0 - gates[:3 * hid]),
                                     1.0 - candidate ** 2])
            d_x[t] = d_rec[t] = d_post * slopes
            dc_next = dc * forget
            dh_next = whh.T @ d_rec[t]
            continue
        h_prev, reset, update, new, rec_new = caches[t]
        d_new = dh * (1.0 - update) * (1.0 - new ** 2)
        d_reset = d_new * rec_new * reset * (1.0 - reset)
        d_update = dh * (h_prev - new) * update * (1.0 - update)
        d_x[t] = np.concatenate([d_reset, d_update, d_new])
        d_rec[t] = np.concatenate([d_reset, d_update, d_new * reset])
        dh_next = dh * update + whh.T @ d_rec[t]
    return d_x, d_rec


def fitness_and_gradient(spec: NetworkSpec, genome: np.ndarray, inputs: np.ndarray,
                         targets: np.ndarray) -> tuple[float, np.ndarray]:
    """The loglik fitness of one network and its exact gradient (BPTT).

    Args:
        spec: network shape.
        genome: `(D,)` weights (computed in float64 whatever their type).
        inputs: character indices fed in; targets: the next characters.

    Returns:
        The mean log-probability of the targets, and its `(D,)` float64 gradient.
    """
    genome = np.asarray(genome, dtype=np.float64).reshape(1, -1)
    p = {name: value[0] for name, value in spec.unflatten(genome).items()}
    vectors = input_vectors(spec, inputs)
    xs = vectors @ p["Wxh"].T + p["bh"]
    states, caches = _forward(spec.cell, p["Whh"], xs, spec.hidden)
    logp = log_softmax(states @ p["Why"].T + p["by"])
    steps = len(targets)
    fitness = float(logp[np.arange(steps), targets].mean())

    d_logits = -np.exp(logp)  # d mean log p(target) / d logits = (onehot - softmax) / T
    d_logits[np.arange(steps), targets] += 1.0
    d_logits /= steps
    d_x, d_rec = _backward(spec.cell, p["Whh"], states, caches, d_logits @ p["Why"])
    previous = np.vstack([np.zeros((1, spec.hidden)), states[:-1]])
    grads = {"Wxh": d_x.T @ vectors, "Whh": d_rec.T @ previous, "bh": d_x.sum(axis=0),
             "Why": d_logits.T @ states, "by": d_logits.sum(axis=0)}
    return fitness, np.concatenate([grads[name].ravel() for name, _ in spec.shapes])


def clip_norm(gradient: np.ndarray, limit: float) -> tuple[np.ndarray, float]:
    """`gradient` rescaled to norm at most `limit` (0: unchanged), and its original norm."""
    norm = float(np.linalg.norm(gradient))
    if limit > 0 and norm > limit:
        return gradient * (limit / norm), norm
    return gradient, norm


class GradientAscent:
    """One network trained by BPTT; each generation is one optimizer step (ask/tell)."""

    def __init__(self, config, spec: NetworkSpec, rng: np.random.Generator):
        self.config, self.spec, self.rng = config, spec, rng
        task = Task(config.text, config.encoding)
        self.inputs, self.targets = task.inputs, task.targets
        self.params: np.ndarray | None = None
        self.optimizer = Optimizer(config.optimizer, spec.size, config.learning_rate,
                                   config.weight_decay,
                                   config.lr_half_life)
        self.population: list = []

    def ask(self) -> list:
        if self.params is None:
            self.params = init_genomes(self.spec, 1, self.rng)[0].astype(np.float64)
        return [make_individual(self.params)]

    def tell(self, individuals: list) -> dict:
        self.population = individuals
        with single_thread():
            _, gradient = fitness_and_gradient(self.spec, self.params, self.inputs,
                                               self.targets)
        gradient, norm = clip_norm(gradient, self.config.clip)
        change = self.optimizer.step(gradient, self.params)
        self.params = self.params + change
        return {**dict.fromkeys(POPULATION_FIELDS), "grad_norm": norm,
                "mean_step": float(np.linalg.norm(change))}

    def state(self) -> dict[str, np.ndarray]:
        return {"params": self.params, **self.optimizer.state()}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.params = np.array(arrays["params"], dtype=np.float64)
        self.optimizer.load_state(arrays)
        self.population = []
