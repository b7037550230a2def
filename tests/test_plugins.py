"""Plugin lookup: built-ins by name, user functions as `module:function`, from the
current folder even when it is not on `sys.path` (the `evonet` console script)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evonet.plugins import PluginError, resolve

BUILTINS = {"one": len}


def test_a_builtin_is_found_by_name_and_an_unknown_name_lists_the_choices():
    assert resolve("one", BUILTINS, "thing") is len
    with pytest.raises(PluginError, match="unknown thing 'two'; choose one of one"):
        resolve("two", BUILTINS, "thing")


def test_a_module_in_the_current_folder_is_found_without_it_on_sys_path(tmp_path,
                                                                        monkeypatch):
    (tmp_path / "evonet_plugin_here.py").write_text("def double(x):\n    return 2 * x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path
                                      if p not in ("", ".", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "evonet_plugin_here", raising=False)
    assert resolve("evonet_plugin_here:double", BUILTINS, "thing")(4) == 8


def test_the_current_folder_shadows_no_module_imported_later(tmp_path, monkeypatch):
    (tmp_path / "evonet_plugin_late.py").write_text("def f():\n    return 1\n")
    (tmp_path / "colorsys.py").write_text("SHADOWED = True\n")  # a standard module's name
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path
                                      if p not in ("", ".", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    assert resolve("evonet_plugin_late:f", BUILTINS, "thing")() == 1
    assert sys.path[-1] == str(tmp_path)
    assert not hasattr(importlib.import_module("colorsys"), "SHADOWED")


def test_a_missing_module_or_function_is_one_line_naming_it(tmp_path, monkeypatch):
    (tmp_path / "evonet_plugin_there.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PluginError, match="cannot import 'no_such_module_here'"):
        resolve("no_such_module_here:f", BUILTINS, "thing")
    with pytest.raises(PluginError, match="has no function 'f'"):
        resolve("evonet_plugin_there:f", BUILTINS, "thing")
    # A module that is found but itself fails to import is reported, not retried.
    (tmp_path / "evonet_plugin_broken.py").write_text("import no_such_dependency\n")
    with pytest.raises(PluginError, match="no_such_dependency"):
        resolve("evonet_plugin_broken:f", BUILTINS, "thing")


@pytest.mark.slow
def test_the_console_script_runs_a_fitness_from_the_current_folder(tmp_path):
    script = Path(sys.executable).with_name("evonet")
    if not script.exists():
        pytest.skip("evonet console script not installed next to this Python")
    (tmp_path / "mymodule.py").write_text(
        "import numpy as np\n"
        "from evonet.fitness import loglik\n"
        "def my_fitness(logits, targets):\n"
        "    return loglik(logits, targets)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(script), "run", "--text", "abab", "--generations", "3",
                           "--fitness", "mymodule:my_fitness", "--backend", "process",
                           "--workers", "2", "--runs-dir", "runs", "--quiet"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "run folder:" in done.stdout
