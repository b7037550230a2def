"""The allocator tuning: set once on glibc, skippable, harmless elsewhere."""

import subprocess
import sys

import pytest

CHECK = ("from evonet.allocator import tune_allocator; "
         "print(tune_allocator(), tune_allocator())")


def run_python(env_value: str | None) -> str:
    env = {"PATH": "/usr/bin:/bin"}
    if env_value is not None:
        env["EVONET_MALLOC"] = env_value
    return subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                          text=True, check=True).stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_thresholds_are_set_once_per_process_on_glibc():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert run_python(None) == ["True", "True"]


def test_evonet_malloc_0_leaves_the_allocator_alone():
    assert run_python("0") == ["False", "False"]
