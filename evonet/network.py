"""Recurrent networks stored as flat float32 genomes, run for a whole population at once.

A `NetworkSpec` (cell kind, vocabulary, hidden size, input encoding) owns the list
of parameter shapes and is the only place that flattens and unflattens genomes.
The forward pass takes the population as one `(P, D)` matrix and runs all P
networks together, so the Python overhead is per time step, not per network
(the min-char-rnn Elman cell of Karpathy, batched over a population).

Every network row is computed by the same per-row numpy calls whatever the other
rows are, so a row's result never depends on how the population was split into
blocks (the basis of bit-identical serial and parallel evaluation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import cells
from .text import binary_codes, input_size

CELLS = ("elman", "lstm", "gru")


@dataclass(frozen=True)
class NetworkSpec:
    """Shape of one character-level RNN.

    Attributes:
        vocab_size: number of distinct characters (output classes).
        hidden: number of hidden units.
        cell: recurrent cell kind.
        encoding: input encoding, `onehot` or `binary`.
    """

    vocab_size: int
    hidden: int
    cell: str = "elman"
    encoding: str = "onehot"

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of {CELLS}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1 (got {self.hidden})")
        if self.vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1 (got {self.vocab_size})")

    @property
    def input_size(self) -> int:
        return input_size(self.vocab_size, self.encoding)

    @cached_property
    def shapes(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """(name, shape) of every parameter, in genome order."""
        hid, inp, voc = self.hidden, self.input_size, self.vocab_size
        rows = cells.GATES[self.cell] * hid  # gated cells stack their gates' rows
        return (
            ("Wxh", (rows, inp)),
            ("Whh", (rows, hid)),
            ("bh", (rows,)),
            ("Why", (voc, hid)),
            ("by", (voc,)),
        )

    @cached_property
    def size(self) -> int:
        """Genome length D."""
        return sum(math.prod(shape) for _, shape in self.shapes)

    def unflatten(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        """Views `(P, *shape)` of each parameter inside a `(P, D)` genome matrix (no copy)."""
        genomes = np.asarray(genomes)
        if genomes.ndim != 2 or genomes.shape[1] != self.size:
            raise ValueError(f"expected genomes of shape (P, {self.size}), got {genomes.shape}")
        params, start = {}, 0
        for name, shape in self.shapes:
            stop = start + math.prod(shape)
            params[name] = genomes[:, start:stop].reshape((genomes.shape[0], *shape))
            start = stop
        return params

    def flatten(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """Inverse of `unflatten`: a `(P, D)` float32 matrix from `(P, *shape)` parameters."""
        parts = []
        for name, shape in self.shapes:
            value = np.asarray(params[name], dtype=np.float32)
            parts.append(value.reshape(value.shape[0], math.prod(shape)))
        return np.concatenate(parts, axis=1)

    def init_scale(self) -> np.ndarray:
        """Per-gene standard deviation for initialisation: 1/sqrt(fan-in), biases 0."""
        scales = []
        for _, shape in self.shapes:
            fan_in = shape[1] if len(shape) == 2 else 0
            value = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
            scales.append(np.full(math.prod(shape), value, dtype=np.float32))
        return np.concatenate(scales)

    def unit_of_gene(self) -> np.ndarray:
        """Hidden unit that owns each gene (its incoming weights, bias and outgoing
        weights), or -1 for genes that belong to no unit (output biases)."""
        owners = []
        for name, shape in self.shapes:
            if name == "Why":
                owner = np.broadcast_to(np.arange(shape[1]), shape)
            elif name == "by":
                owner = np.full(shape, -1)
            else:  # rows of the recurrent layer: row r feeds unit r % hidden
                rows = np.arange(shape[0]) % self.hidden
                owner = np.broadcast_to(rows.reshape((-1,) + (1,) * (len(shape) - 1)), shape)
            owners.append(np.asarray(owner, dtype=np.int64).ravel())
        return np.concatenate(owners)

    def to_dict(self) -> dict:
        return {"vocab_size": self.vocab_size, "hidden": self.hidden,
                "cell": self.cell, "encoding": self.encoding}

    @classmethod
    def from_dict(cls, data: dict) -> NetworkSpec:
        return cls(int(data["vocab_size"]), int(data["hidden"]), str(data["cell"]),
                   str(data["encoding"]))


def init_genomes(spec: NetworkSpec, count: int, rng: np.random.Generator) -> np.ndarray:
    """`(count, D)` float32 genomes drawn with fan-in scaled Gaussian weights."""
    noise = rng.standard_normal((count, spec.size), dtype=np.float32)
    return noise * spec.init_scale()


def _input_table(spec: NetworkSpec, params: dict) -> np.ndarray:
    """`(V, P, R, 1)` contribution `Wxh x + bh` of each vocabulary character, every network.

    The input takes only V distinct values, so a text of any length needs V
    projections, not T; a step then reads one contiguous `(P, R, 1)` slice.
    """
    if spec.encoding == "onehot":
        per_char = params["Wxh"]  # a one-hot input selects one column of Wxh: no product
    else:
        per_char = np.matmul(params["Wxh"], binary_codes(spec.vocab_size).T)  # (P, R, V)
    table = np.empty((per_char.shape[2], *per_char.shape[:2], 1), dtype=np.float32)
    np.add(per_char.transpose(2, 0, 1), params["bh"], out=table[..., 0])
    return table


def _input_projection(spec: NetworkSpec, params: dict, inputs: np.ndarray) -> np.ndarray:
    """`(T, P, R, 1)` contribution of each input character plus the hidden bias."""
    return _input_table(spec, params)[inputs]


def _tanh_of_half_minus(z: np.ndarray) -> np.ndarray:
    """tanh(-z / 2) in place, as 2 / (1 + exp(z)) - 1.

    numpy's float32 exp is vectorised (SIMD) and its tanh is not: this costs
    about half as much, within a few float32 ulps of tanh. The caller scales the
    weights by -2 instead of the result (exact: a power of two), so the matrix
    product yields z directly. exp overflows to inf for z > 88 (callers silence the
    warning): 2 / inf - 1 = -1.
    """
    np.exp(z, out=z)
    z += 1
    np.divide(2, z, out=z)
    z -= 1
    return z


def _elman_step(whh_m2: np.ndarray, x_m2: np.ndarray, h: np.ndarray,
                out: np.ndarray) -> np.ndarray:
    """`out = tanh(Whh h + x)` given `whh_m2 = -2 Whh` `(P, H, H)`, `x_m2 = -2 x` `(P, H, 1)`.

    Shared by the teacher-forced pass and free-running generation, so both
    compute the same bits.
    """
    np.matmul(whh_m2, h, out=out)
    out += x_m2
    return _tanh_of_half_minus(out)


def hidden_states(spec: NetworkSpec, genomes: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Run every network over `inputs` (character indices) from a zero state.

    Returns:
        `(T, P, H, 1)` float32 hidden state after each input.
    """
    params = spec.unflatten(genomes)
    whh = params["Whh"]
    table = _input_table(spec, params)
    if spec.cell != "elman":
        return cells.run(spec.cell, whh, table[inputs])
    table *= -2  # see _tanh_of_half_minus
    whh_m2 = np.multiply(whh, np.float32(-2))
    states = np.empty((len(inputs), genomes.shape[0], spec.hidden, 1), dtype=np.float32)
    h = np.zeros_like(states[0])
    with np.errstate(over="ignore"):
        for t, x in enumerate(inputs):
            # states[t] doubles as the pre-activation buffer: no temporaries per step.
            h = _elman_step(whh_m2, table[x], h, out=states[t])
    return states


def output_logits(spec: NetworkSpec, genomes: np.ndarray, states: np.ndarray) -> np.ndarray:
    """`(P, T, V)` output logits from the `(T, P, H, 1)` hidden states.

    The result is a `(P, T, V)` view of a `(P, V, T)` array: the fitness reduces
    over V (max, sum of exponentials), and numpy reduces across contiguous rows of
    T values several times faster than along 40-float rows.
    """
    params = spec.unflatten(genomes)
    # A strided view, no copy: BLAS reads each network's (H, T) matrix with a stride.
    per_network = states[..., 0].transpose(1, 2, 0)  # (P, H, T)
    logits = np.matmul(params["Why"], per_network)  # (P, V, T)
    logits += params["by"][:, :, None]
    return logits.transpose(0, 2, 1)


def forward(spec: NetworkSpec, genomes: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Teacher-forced logits `(P, T, V)` of every network for every input position."""
    genomes = np.ascontiguousarray(genomes, dtype=np.float32)
    return output_logits(spec, genomes, hidden_states(spec, genomes, inputs))


def generate(spec: NetworkSpec, genome: np.ndarray, first: int, length: int,
             prime: np.ndarray | None = None) -> np.ndarray:
    """Greedy free-running generation from one network.

    Args:
        genome: `(D,)` weights of one network.
        first: index of the first character when `prime` is not given.
        length: total number of characters returned, including the prime.
        prime: character indices fed before generation starts.

    Returns:
        `(length,)` character indices: the prime followed by argmax predictions,
        each fed back as the next input.
    """
    genomes = np.ascontiguousarray(np.asarray(genome, dtype=np.float32).reshape(1, -1))
    prime = np.array([first] if prime is None else prime, dtype=np.int64)
    out = list(prime[:length])
    params = spec.unflatten(genomes)
    h = np.zeros((1, spec.hidden, 1), dtype=np.float32)
    c = np.zeros_like(h) if spec.cell == "lstm" else None  # the LSTM's cell state
    table = _input_table(spec, params)  # every character's input projection, once
    whh_m2, table_m2 = params["Whh"] * np.float32(-2), table * np.float32(-2)
    step_input = prime
    with np.errstate(over="ignore"):
        while len(out) < length:
            # The same per-step operations as `hidden_states`, one network at a time.
            for x in step_input:
                if spec.cell != "elman":
                    h, c = cells.STEPS[spec.cell](params["Whh"], table[x], h, c)
                    continue
                h = _elman_step(whh_m2, table_m2[x], h, out=np.empty_like(h))
            logits = np.matmul(h[..., 0], params["Why"][0].T) + params["by"]
            nxt = int(np.argmax(logits[0]))
            out.append(nxt)
            step_input = (nxt,)
    return np.array(out, dtype=np.int64)
