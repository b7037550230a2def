"""Whole runs on every backend: the same log and best network, worker logs in run.log,
and bad backend input refused with exit status 2."""

from __future__ import annotations

import re
import socket
import sys

import numpy as np
import pytest

from evonet.cli import main
from evonet.config import RunConfig
from evonet.evaluation import evaluate_block, make_evaluator
from evonet.evolve import TIMING_FIELDS, build_problem, evolve
from evonet.network import init_genomes
from evonet.runfolder import RunFolder

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Small enough to be quick, long enough that the run is not solved: every generation counts.
SETTINGS = dict(text="the rain in spain", population=20, generations=8, hidden=8, seed=11,
                checkpoint_every=3)


@pytest.fixture(scope="module")
def cluster():
    """A Dask cluster of 2 single-threaded worker processes on loopback, closed at the end."""
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as local:
        yield local


def run_in_folder(tmp_path, name: str, **changes) -> RunFolder:
    config = RunConfig(**{**SETTINGS, **changes})
    folder = RunFolder.create(tmp_path, name, config)
    evolve(config, folder)
    return folder


def outcome(folder: RunFolder) -> tuple[list[dict], list[np.ndarray], dict]:
    """Everything a run leaves that must not depend on the backend: the log without
    timings, and best.npz (its arrays and metadata)."""
    records = [{k: v for k, v in r.items() if k not in TIMING_FIELDS}
               for r in folder.read_records()]
    with np.load(folder / "best.npz", allow_pickle=False) as best:
        arrays = {k: best[k] for k in best.files}
    return records, arrays


def assert_same_outcome(folder: RunFolder, reference: RunFolder) -> None:
    records, arrays = outcome(folder)
    ref_records, ref_arrays = outcome(reference)
    assert len(records) == SETTINGS["generations"] + 1
    assert records == ref_records
    assert sorted(arrays) == sorted(ref_arrays)
    for key in arrays:
        np.testing.assert_array_equal(arrays[key], ref_arrays[key], err_msg=key)


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    return run_in_folder(tmp_path_factory.mktemp("serial"), "serial", backend="serial")


@pytest.mark.parametrize("workers", ["1", "2", "3"])
def test_process_backend_run_equals_serial_run(tmp_path, serial_run, workers):
    assert_same_outcome(run_in_folder(tmp_path, "p", backend="process", workers=workers),
                        serial_run)


def test_auto_workers_switching_to_parallel_mid_run_equals_serial_run(tmp_path, serial_run,
                                                                      monkeypatch, caplog):
    monkeypatch.setattr("evonet.evaluation.MIN_PARALLEL_S", 0.0)  # always try the workers
    with caplog.at_level("INFO", logger="evonet"):
        folder = run_in_folder(tmp_path, "auto", backend="process", workers="auto")
    assert "workers auto:" in caplog.text
    assert_same_outcome(folder, serial_run)


def test_dask_backend_run_equals_serial_run(tmp_path, serial_run, cluster):
    folder = run_in_folder(tmp_path, "d", backend="dask", workers="2",
                           scheduler=cluster.scheduler_address)
    assert_same_outcome(folder, serial_run)


def test_dask_evaluator_starts_and_stops_its_own_local_cluster():
    config = RunConfig(**SETTINGS, backend="dask", workers="2")
    _, spec, problem = build_problem(config)
    genomes = init_genomes(spec, 9, np.random.default_rng(2))
    evaluator = make_evaluator(config, problem)
    try:
        np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))
        cluster = evaluator._cluster
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert len(cluster.workers) == 2
    finally:
        evaluator.close()
    assert cluster.status.name == "closed"


# ---------------------------------------------------------------------------- worker logs
def run_cli(tmp_path, *flags: str) -> tuple[int, RunFolder]:
    status = main(["run", "--text", SETTINGS["text"], "--population", "20", "--hidden", "8",
                   "--generations", "3", "--runs-dir", str(tmp_path), "--name", "r", "--quiet",
                   *flags])
    return status, RunFolder(tmp_path / "r")


def run_log_lines(folder: RunFolder) -> list[str]:
    lines = (folder / "run.log").read_text(encoding="utf-8").splitlines()
    # Every line is a whole record: timestamp, process, level (no interleaved halves).
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} .+? "
                       r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
    starts = [line for line in lines if stamp.match(line)]
    assert len(starts) == len(lines) - sum(1 for line in lines if line.startswith("  "))
    return starts


def test_process_worker_log_records_reach_run_log_named_by_worker(tmp_path):
    status, folder = run_cli(tmp_path, "--backend", "process", "--workers", "2")
    assert status == 0
    ready = [line for line in run_log_lines(folder) if "ready: 1 BLAS thread" in line]
    names = {line.split()[2] for line in ready}
    assert len(ready) == 2 and len(names) == 2
    assert all(re.fullmatch(r"worker-\d+", name) for name in names)


def test_dask_worker_log_records_reach_run_log(tmp_path, cluster):
    status, folder = run_cli(tmp_path, "--backend", "dask", "--workers", "2", "--scheduler",
                             cluster.scheduler_address)
    assert status == 0
    ready = [line for line in run_log_lines(folder) if re.search(r"dask worker \d+ ready", line)]
    assert len(ready) == 2


# ---------------------------------------------------------------------------- bad input
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("flags, message", [
    (["--workers", "0"], "workers must be a whole number >= 1 or auto"),
    (["--workers=-2"], "workers must be a whole number >= 1 or auto"),
    (["--workers", "two"], "workers must be a whole number >= 1 or auto"),
    (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:{port}"],
     "cannot reach dask scheduler tcp://127.0.0.1:"),
])
@pytest.mark.timeout(60)  # an unreachable scheduler must fail in seconds, not hang
def test_bad_backend_input_exits_2_with_one_line_and_no_run_folder(tmp_path, capsys, flags,
                                                                   message):
    flags = [flag.format(port=free_port()) for flag in flags]
    status, folder = run_cli(tmp_path, *flags)
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not folder.path.exists()


def test_dask_backend_without_dask_installed_exits_2_saying_how_to_install(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    status, folder = run_cli(tmp_path, "--backend", "dask")
    err = capsys.readouterr().err
    assert status == 2
    assert err == "evonet: error: the dask backend needs the dask extra: pip install " \
                  "'evonet[dask]'\n"
    assert not folder.path.exists()



def test_resume_onto_dask_without_dask_exits_2_and_leaves_the_config(tmp_path, capsys,
                                                                     monkeypatch):
    status, folder = run_cli(tmp_path, "--backend", "serial")
    assert status == 0
    before = (folder / "config.toml").read_bytes()
    monkeypatch.setitem(sys.modules, "distributed", None)
    status = main(["resume", str(folder.path), "--backend", "dask", "--generations", "5"])
    assert status == 2
    assert "pip install 'evonet[dask]'" in capsys.readouterr().err
    assert (folder / "config.toml").read_bytes() == before
