"""The `evonet` command's entry point: Ctrl-C while the CLI is still loading."""

from __future__ import annotations

import importlib.abc
import subprocess
import sys

from evonet import console


class _InterruptedImport(importlib.abc.MetaPathFinder):
    """Ctrl-C arriving while `evonet.cli` (numpy, DEAP, ...) is being imported."""

    def find_spec(self, name, path=None, target=None):
        if name == "evonet.cli":
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_the_cli_loads_is_one_line_and_status_130(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "evonet.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_InterruptedImport(), *sys.meta_path])
    assert console.main() == 130
    assert capsys.readouterr().err == "evonet: interrupted\n"


def test_the_package_loads_without_numpy_until_a_run_is_read():
    code = ("import sys, evonet; assert 'numpy' not in sys.modules; "
            "evonet.load_run; assert 'numpy' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
