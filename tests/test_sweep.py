"""`evonet bench sweep`: settings parsed like the config, arms over shared seeds."""

import argparse

import pytest

from evonet.bench import sweep
from evonet.config import ConfigError, RunConfig
from evonet.evolve import evolve


def test_settings_parse_to_typed_config_changes():
    assert sweep.parse_setting("tournsize=8, cxpb=1.0,mutation=self_adaptive") == {
        "tournsize": 8, "cxpb": 1.0, "mutation": "self_adaptive"}
    assert sweep.parse_setting("es-sigma=0.02,text='a b'") == {"es_sigma": 0.02, "text": "a b"}
    for bad in ("tournsize", "nosuchkey=3", "=4"):
        with pytest.raises(ConfigError, match="--setting"):
            sweep.parse_setting(bad)


@pytest.mark.parametrize("value, expected", [("3", range(3, 4)), ("0-4", range(0, 5))])
def test_seeds_are_an_inclusive_range(value, expected):
    assert sweep.parse_seeds(value) == expected


@pytest.mark.parametrize("value", ["", "a-b", "5-1", "-1", "1-"])
def test_bad_seed_ranges_are_refused(value):
    with pytest.raises(ConfigError, match="--seeds"):
        sweep.parse_seeds(value)


def test_each_arm_reports_the_median_generations_of_its_runs(capsys):
    settings = ["population=8,generations=3", "population=12,generations=2,tournsize=2"]
    args = argparse.Namespace(text="abcab", seeds="4-6", settings=settings)
    assert sweep.run(args) == 0
    lines = capsys.readouterr().out.splitlines()
    for setting, line in zip(settings, lines[2:], strict=True):
        changes = sweep.parse_setting(setting)
        runs = [evolve(RunConfig(text="abcab", backend="serial", seed=seed, **changes))
                for seed in (4, 5, 6)]
        gens = sorted(r.generation for r in runs)
        solved = sum(r.status == "solved" for r in runs)
        assert line.split()[:3] == [setting, f"{solved}/3", f"{gens[1]:g}"]


def test_a_setting_the_config_refuses_fails_before_any_run(capsys):
    args = argparse.Namespace(text="abc", seeds="0-1", settings=["population=1"])
    with pytest.raises(ConfigError, match="population"):
        sweep.run(args)
    assert capsys.readouterr().out == ""
