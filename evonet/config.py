"""The one run configuration: defaults, validation, and TOML in and out.

`RunConfig` is a flat dataclass so that a run folder's `config.toml` reads like
the command line that made it. Every field's metadata (help, choices, range)
drives both validation and the CLI flags, so a new setting is declared once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class ConfigError(ValueError):
    """Bad configuration: the message is one line naming the key and what is allowed."""


def _setting(default, help: str, *, choices=None, low=None, high=None, plugin=False,
             resumable=False, added_later=False):
    """A config field with the metadata used for validation and the CLI.

    `plugin`: besides `choices`, a `package.module:function` is accepted.
    `resumable`: may differ between a run and its resume (it does not change results).
    `added_later`: the setting came after the first release; at its default it
    changes nothing, and is left out of `evolution_hash` so that checkpoints written
    before it existed still resume.
    """
    meta = {"help": help, "choices": choices, "low": low, "high": high, "plugin": plugin,
            "resumable": resumable, "added_later": added_later}
    return field(default=default, metadata=meta)


@dataclass
class RunConfig:
    """Everything that defines a run; saved as `config.toml` in its folder."""

    text: str = _setting("Hello world!", "the target text to regenerate")
    seed: int = _setting(0, "random seed (same seed, same run)", low=0)
    algorithm: str = _setting("ga", "search algorithm",
                              choices=("ga", "es", "cma", "gradient"))
    population: int = _setting(64, "individuals per generation", low=2)
    generations: int = _setting(500, "generations at most", low=1, resumable=True)
    hidden: int = _setting(16, "hidden units", low=1)
    cell: str = _setting("elman", "recurrent cell", choices=("elman", "lstm", "gru"))
    encoding: str = _setting("onehot", "input encoding", choices=("onehot", "binary"))
    fitness: str = _setting("loglik", "fitness function", choices=("loglik", "accuracy", "mse"),
                            plugin=True)
    selection: str = _setting("tournament", "parent selection", choices=("tournament", "best"))
    tournsize: int = _setting(8, "tournament size", low=2)
    elite: int = _setting(2, "best individuals copied unchanged into the next generation",
                          low=1)
    crossover: str = _setting("uniform", "crossover operator",
                              choices=("uniform", "one_point", "blend", "neuron", "none"),
                              plugin=True)
    cxpb: float = _setting(1.0, "probability that a pair of children is crossed", low=0.0,
                           high=1.0)
    cx_indpb: float = _setting(0.5, "uniform crossover: per-gene swap probability", low=0.0,
                               high=1.0)
    alpha: float = _setting(0.5, "blend crossover: extent beyond the parents", low=0.0,
                            high=10.0)
    mutation: str = _setting("gaussian", "mutation operator",
                             choices=("gaussian", "self_adaptive", "point", "swap", "insert",
                                      "none"), plugin=True)
    mutpb: float = _setting(1.0, "probability that a child is mutated", low=0.0, high=1.0)
    indpb: float = _setting(0.1, "per-gene mutation probability", low=0.0, high=1.0)
    sigma: float = _setting(0.1, "mutation step size (standard deviation)", low=0.0,
                            high=100.0)
    es_sigma: float = _setting(0.05, "es: standard deviation of the perturbations; cma: the "
                               "initial step size", low=0.0, high=100.0)
    learning_rate: float = _setting(0.03, "es and gradient: optimizer step size", low=0.0,
                                    high=10.0)
    lr_half_life: float = _setting(
        0.0, "es and gradient: the learning rate halves every this many generations, down "
        "to a tenth of it (0: constant)", low=0.0, added_later=True)
    optimizer: str = _setting("adam", "es and gradient: optimizer",
                              choices=("adam", "rmsprop"))
    weight_decay: float = _setting(0.0, "es and gradient: L2 pull of the weights toward 0, "
                                   "per step", low=0.0, high=100.0)
    clip: float = _setting(5.0, "gradient: clip the gradient norm to this (0: no clipping)",
                           low=0.0)
    backend: str = _setting("process", "where fitness is evaluated",
                            choices=("serial", "process", "dask"), resumable=True)
    workers: str = _setting("auto", "worker processes: a number, or auto", resumable=True)
    scheduler: str = _setting("", "dask scheduler address (tcp://HOST:PORT); empty starts a "
                              "local cluster", resumable=True)
    checkpoint_every: int = _setting(50, "checkpoint every N generations", low=1,
                                     resumable=True)
    checkpoint_seconds: float = _setting(30.0, "and at least every S seconds of wall time",
                                         low=0.0, resumable=True)

    def __post_init__(self) -> None:
        validate(self)

    # ------------------------------------------------------------------ TOML
    def to_toml(self) -> str:
        lines = ["# evonet run configuration: `evonet run --config THIS_FILE` reruns it"]
        for f in dataclasses.fields(self):
            lines.append(f"{f.name} = {_toml_value(getattr(self, f.name))}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str, source: str = "config") -> RunConfig:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: malformed TOML ({exc})") from None
        try:
            return cls.from_dict(data, source)
        except ConfigError as exc:  # range and choice errors too should name the file
            message = str(exc)
            if not message.startswith(f"{source}: "):
                message = f"{source}: {message}"
            raise ConfigError(message) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> RunConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}")
        values = {}
        for key, value in data.items():
            values[key] = _coerce(key, value, known[key].type, source)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> RunConfig:
        return RunConfig.from_dict({**self.to_dict(), **changes})

    def evolution_hash(self) -> str:
        """Hash of the settings that change results (not generations or backend):
        a resume must not continue a run under different ones."""
        fixed = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                 if not f.metadata["resumable"]
                 and not (f.metadata["added_later"] and getattr(self, f.name) == f.default)}
        return hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:16]

    def worker_count(self) -> int | None:
        """The number of workers, or None for `auto`."""
        return None if self.workers == "auto" else int(self.workers)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # TOML basic strings take JSON's escapes; DEL must be escaped too.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


_TYPE_NAMES = {"int": int, "float": float, "str": str, "bool": bool}


def _coerce(key: str, value: Any, type_name: Any, source: str) -> Any:
    expected = _TYPE_NAMES.get(str(type_name), str)
    if key == "workers" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(
            f"{source}: {key} must be {expected.__name__} (got {type(value).__name__} {value!r})"
        )
    return value


def validate(config: RunConfig) -> None:
    """Raise ConfigError naming the first field out of range or not among its choices."""
    for f in dataclasses.fields(config):
        value, meta = getattr(config, f.name), f.metadata
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{f.name} must be a finite number (got {value})")
        low, high = meta["low"], meta["high"]
        if low is not None and value < low or high is not None and value > high:
            bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ConfigError(f"{f.name} must be {bounds} (got {value!r})")
        choices = meta["choices"]
        if choices and value not in choices and not (meta["plugin"] and ":" in value):
            extra = " or package.module:function" if meta["plugin"] else ""
            raise ConfigError(
                f"unknown {f.name} {value!r}; choose one of {', '.join(choices)}{extra}")
    if config.sigma <= 0:
        raise ConfigError(f"sigma must be > 0 (got {config.sigma})")
    if config.es_sigma <= 0:
        raise ConfigError(f"es_sigma must be > 0 (got {config.es_sigma})")
    if config.algorithm == "gradient" and config.fitness != "loglik":
        raise ConfigError(f"the gradient algorithm needs a differentiable fitness: use "
                          f"--fitness loglik (got {config.fitness!r})")
    if config.algorithm == "cma" and config.text:
        # imported here: the size limit lives with the algorithm, which imports this module
        from .algorithms.cma import check_genome_size
        from .network import NetworkSpec

        check_genome_size(NetworkSpec(len(set(config.text)), config.hidden, config.cell,
                                      config.encoding).size)
    if not config.text:
        raise ConfigError("the target text is empty")
    try:
        config.text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: bytes that were not UTF-8
        raise ConfigError(f"the target text is not valid Unicode at character {exc.start} "
                          f"({config.text[exc.start]!r}); was it UTF-8?") from None
    if len(config.text) < 2:
        raise ConfigError("the target text needs at least 2 characters (nothing to predict in 1)")
    if config.elite >= config.population:
        raise ConfigError(
            f"elite must be < population (got elite {config.elite}, population "
            f"{config.population})")
    if config.workers != "auto":
        try:
            workers = int(config.workers)
        except ValueError:
            workers = 0
        if workers < 1 or str(workers) != config.workers.strip():
            raise ConfigError(
                f"workers must be a whole number >= 1 or auto (got {config.workers!r})")
