"""LSTM and GRU cells, one time step for a whole population at once.

The LSTM is Hochreiter & Schmidhuber (1997) with the forget gate of Gers et al.
(2000); the GRU is Cho et al. (2014) in its "reset after" form (the reset gate
scales the recurrent contribution, as in cuDNN and PyTorch), so that each step
needs one recurrent matrix product for all gates.

A cell with G gates stacks its gate weights along the rows: `Wxh (G*H, I)`,
`Whh (G*H, H)`, `bh (G*H,)`, gate g of unit u on row `g*H + u` (so row r still
belongs to unit `r % H`, which neuron-level operators rely on). The input
projection `Wxh x + bh` of every step is computed in advance by the network
module; a step here adds `Whh h` and applies the gates.

Like the Elman loop, each network's row goes through the same numpy calls
whatever the other rows are, so results do not depend on how the population
is split into blocks.
"""

from __future__ import annotations

import numpy as np

# Gate blocks of each cell: lstm [input, forget, output, candidate]; gru [reset, update, new].
GATES = {"elman": 1, "lstm": 4, "gru": 3}


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function as 0.5 * (1 + tanh(x / 2)): one transcendental, and it
    cannot overflow in float32 (1 / (1 + exp(-x)) does for x < -88)."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def lstm_step(whh: np.ndarray, x: np.ndarray, h: np.ndarray,
              c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step.

    Args:
        whh: `(P, 4H, H)` recurrent weights.
        x: `(P, 4H, 1)` input projection of this step (bias included).
        h, c: `(P, H, 1)` hidden and cell state.

    Returns:
        The new `(h, c)`.
    """
    hid = h.shape[1]
    z = np.matmul(whh, h)
    z += x
    sigmoid(z[:, :3 * hid], out=z[:, :3 * hid])
    np.tanh(z[:, 3 * hid:], out=z[:, 3 * hid:])
    gate_in, forget, gate_out, candidate = (z[:, k * hid:(k + 1) * hid] for k in range(4))
    c = forget * c
    c += gate_in * candidate
    h = np.tanh(c)
    h *= gate_out
    return h, c


def gru_step(whh: np.ndarray, x: np.ndarray, h: np.ndarray,
             c: np.ndarray | None = None) -> tuple[np.ndarray, None]:
    """One GRU step ("reset after": n = tanh(x_n + r * (Whh_n h))).

    Args:
        whh: `(P, 3H, H)` recurrent weights.
        x: `(P, 3H, 1)` input projection of this step (bias included).
        h: `(P, H, 1)` hidden state; `c` is ignored (a GRU has no cell state).

    Returns:
        The new `(h, None)`.
    """
    hid = h.shape[1]
    rec = np.matmul(whh, h)
    gates = x[:, :2 * hid] + rec[:, :2 * hid]
    sigmoid(gates, out=gates)
    reset, update = gates[:, :hid], gates[:, hid:]
    new = reset * rec[:, 2 * hid:]
    new += x[:, 2 * hid:]
    np.tanh(new, out=new)
    # (1 - z) * n + z * h, written with one temporary less
    h = h - new
    h *= update
    h += new
    return h, None


STEPS = {"lstm": lstm_step, "gru": gru_step}


def run(cell: str, whh: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Run a gated cell over precomputed input projections from a zero state.

    Args:
        cell: `lstm` or `gru`.
        whh: `(P, G*H, H)` recurrent weights.
        xs: `(T, P, G*H, 1)` input projections.

    Returns:
        `(T, P, H, 1)` hidden state after each input.
    """
    step = STEPS[cell]
    steps, pop, rows, _ = xs.shape
    hid = rows // GATES[cell]
    states = np.empty((steps, pop, hid, 1), dtype=xs.dtype)
    h = np.zeros((pop, hid, 1), dtype=xs.dtype)
    c = np.zeros_like(h) if cell == "lstm" else None
    for t in range(steps):
        h, c = step(whh, xs[t], h, c)
        states[t] = h
    return states
