"""RunConfig: every bad value is refused with one line naming the key and what is
allowed; TOML round-trips; the config hash separates what changes results."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evonet.config import ConfigError, RunConfig

FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}


def test_defaults_are_valid_and_round_trip():
    config = RunConfig()
    assert RunConfig.from_toml(config.to_toml()) == config


@given(text=st.text(min_size=2, max_size=40), seed=st.integers(0, 2**62),
       sigma=st.floats(1e-6, 10.0), cxpb=st.floats(0.0, 1.0),
       population=st.integers(3, 500))
def test_toml_round_trip_of_any_valid_config(text, seed, sigma, cxpb, population):
    config = RunConfig(text=text, seed=seed, sigma=sigma, cxpb=cxpb, population=population)
    assert RunConfig.from_toml(config.to_toml()) == config


def test_malformed_toml_names_the_file():
    with pytest.raises(ConfigError, match=r"^my\.toml: malformed TOML"):
        RunConfig.from_toml("population = = 3", source="my.toml")


def test_unknown_keys_are_all_named():
    with pytest.raises(ConfigError, match=r"^my\.toml: unknown key\(s\) colour, popsize$"):
        RunConfig.from_toml("popsize = 3\ncolour = 'red'\nhidden = 4", source="my.toml")


@pytest.mark.parametrize("key, value, expected", [
    ("population", "'many'", "population must be int (got str 'many')"),
    ("population", "true", "population must be int (got bool True)"),
    ("hidden", "2.5", "hidden must be int (got float 2.5)"),
    ("sigma", "'big'", "sigma must be float (got str 'big')"),
    ("text", "3", "text must be str (got int 3)"),
    ("cell", "[1]", "cell must be str (got list [1])"),
])
def test_wrong_types_name_key_and_type(key, value, expected):
    with pytest.raises(ConfigError) as error:
        RunConfig.from_toml(f"{key} = {value}", source="c.toml")
    assert str(error.value) == f"c.toml: {expected}"


def test_ints_are_accepted_for_floats_and_workers():
    config = RunConfig.from_toml("sigma = 1\nworkers = 3")
    assert config.sigma == 1.0 and isinstance(config.sigma, float) and config.workers == "3"


@pytest.mark.parametrize("name", [n for n, f in FIELDS.items()
                                  if f.metadata["low"] is not None])
def test_every_lower_bound_is_enforced_with_its_range(name):
    field = FIELDS[name]
    low, high = field.metadata["low"], field.metadata["high"]
    below = low - 1 if isinstance(low, int) and field.type == "int" else low - 0.5
    with pytest.raises(ConfigError) as error:
        RunConfig(**{name: below})
    message = str(error.value)
    bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
    assert message == f"{name} must be {bounds} (got {below!r})"


@pytest.mark.parametrize("name", [n for n, f in FIELDS.items()
                                  if f.metadata["high"] is not None])
def test_every_upper_bound_is_enforced_with_its_range(name):
    field = FIELDS[name]
    with pytest.raises(ConfigError, match=rf"^{name} must be in \[.*\] \(got"):
        RunConfig(**{name: field.metadata["high"] + 0.5})


@pytest.mark.parametrize("name", [n for n, f in FIELDS.items() if f.type == "float"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_refused(name, value):
    with pytest.raises(ConfigError, match=rf"^{name} must be a finite number"):
        RunConfig(**{name: value})


@pytest.mark.parametrize("name", [n for n, f in FIELDS.items() if f.metadata["choices"]])
def test_every_choice_field_lists_its_choices(name):
    choices = FIELDS[name].metadata["choices"]
    with pytest.raises(ConfigError) as error:
        RunConfig(**{name: "no-such-thing"})
    assert str(error.value).startswith(f"unknown {name} 'no-such-thing'; choose one of "
                                       + ", ".join(choices))


def test_range_errors_from_a_file_name_the_file():
    with pytest.raises(ConfigError, match=r"^c\.toml: population must be >= 2 \(got 1\)$"):
        RunConfig.from_toml("population = 1", source="c.toml")


def test_cross_field_rules():
    with pytest.raises(ConfigError, match="elite must be < population"):
        RunConfig(population=4, elite=4)
    with pytest.raises(ConfigError, match="at least 2 characters"):
        RunConfig(text="a")
    with pytest.raises(ConfigError, match="sigma must be > 0"):
        RunConfig(sigma=0.0)
    with pytest.raises(ConfigError, match="workers must be a whole number"):
        RunConfig(workers="2.5")


def changed(name: str):
    """A valid value different from the default, for any field."""
    field = FIELDS[name]
    default = field.default
    if field.metadata["choices"]:
        return next(c for c in field.metadata["choices"] if c != default)
    if name == "workers":
        return "2"
    if name == "scheduler":
        return "tcp://example:8786"
    if isinstance(default, str):
        return default + "!"
    if isinstance(default, bool):
        return not default
    high = field.metadata["high"]
    if isinstance(default, int):
        return default + 1
    return default / 2 if high is not None and default > 0 else default + 0.25


@pytest.mark.parametrize("name", list(FIELDS))
def test_config_hash_changes_exactly_with_the_settings_that_change_results(name):
    base = RunConfig(population=64, elite=2)
    other = base.replace(**{name: changed(name)})
    assert other != base
    if FIELDS[name].metadata["resumable"]:
        assert other.evolution_hash() == base.evolution_hash()
    else:
        assert other.evolution_hash() != base.evolution_hash()


def test_settings_added_later_leave_the_hash_of_older_configs_alone():
    """A checkpoint written before a setting existed must still resume: at its default,
    an added setting is not hashed (the hash is what the checkpoint stored)."""
    import dataclasses
    import hashlib
    import json

    config = RunConfig(text="abc", population=12, lr_half_life=0.0)
    older = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
             if not f.metadata["resumable"] and not f.metadata["added_later"]}
    stored = hashlib.sha256(json.dumps(older, sort_keys=True).encode()).hexdigest()[:16]
    assert config.evolution_hash() == stored
    assert config.replace(lr_half_life=800.0).evolution_hash() != stored
    assert [f.name for f in dataclasses.fields(config) if f.metadata["added_later"]] == [
        "lr_half_life"]
