"""The allocator tuning: set once on glibc, skippable, harmless elsewhere."""

import os
import subprocess
import sys

import pytest

CHECK = ("from evonet.allocator import tune_allocator; "
         "print(tune_allocator(), tune_allocator())")


def run_python(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "EVONET_MALLOC"}
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


def test_thresholds_are_set_with_mallopt_once(monkeypatch):
    from evonet import allocator

    calls = []

    def mallopt(param, value):  # a plain function: ctypes functions take argtypes
        calls.append((param, value))
        return 1

    class FakeLibc:
        pass

    FakeLibc.mallopt = staticmethod(mallopt)

    monkeypatch.setattr(allocator, "_tuned", False)
    monkeypatch.setattr(allocator.os, "confstr", lambda name: "glibc 2.36")
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.delenv("EVONET_MALLOC", raising=False)
    assert allocator.tune_allocator() and allocator.tune_allocator()
    assert calls == [(allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD),
                     (allocator.M_TRIM_THRESHOLD, allocator.TRIM_THRESHOLD)]


@pytest.mark.parametrize("libc", ["musl", "no mallopt"])
def test_without_glibc_the_allocator_is_left_alone(monkeypatch, libc):
    from evonet import allocator

    def no_confstr(name):
        raise ValueError("unrecognized configuration name")

    monkeypatch.setattr(allocator, "_tuned", False)
    monkeypatch.delenv("EVONET_MALLOC", raising=False)
    if libc == "musl":
        monkeypatch.setattr(allocator.os, "confstr", no_confstr)
    else:
        monkeypatch.setattr(allocator.os, "confstr", lambda name: "glibc 2.36")
        monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: object())
    assert allocator.tune_allocator() is False
