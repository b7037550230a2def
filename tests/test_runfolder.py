"""The run folder's files: atomic, pickle-free, byte-reproducible, and clear when broken."""

from __future__ import annotations

import errno
import json
import logging
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evonet import runfolder
from evonet.config import RunConfig
from evonet.runfolder import (
    RunFolder,
    RunFolderError,
    atomic_write,
    load_npz,
    save_npz,
)


def test_npz_round_trip_and_identical_bytes_for_identical_content(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1.5, -2.0])}
    meta = {"generation": 3, "rng": {"state": 2**100}, "text": "héllo"}
    save_npz(tmp_path / "one.npz", arrays, meta)
    loaded, loaded_meta = load_npz(tmp_path / "one.npz")
    assert loaded_meta == meta
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype
    # np.savez stamps the current time into the zip; ours must not (best.npz of a resumed
    # run is compared byte for byte with the uninterrupted one's).
    save_npz(tmp_path / "two.npz", arrays, meta)
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    assert {i.date_time for i in zipfile.ZipFile(tmp_path / "two.npz").infolist()} == \
        {(1980, 1, 1, 0, 0, 0)}


def test_npz_refuses_pickled_objects(tmp_path):
    with pytest.raises(ValueError):
        save_npz(tmp_path / "x.npz", {"evil": np.array([object()], dtype=object)}, {})
    assert not (tmp_path / "x.npz").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    np.savez(tmp_path / "y.npz", evil=np.array([{"a": 1}], dtype=object),
             meta=np.array("{}"))
    with pytest.raises(RunFolderError, match="y.npz: unreadable or corrupt"):
        load_npz(tmp_path / "y.npz")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "meta-not-json", "meta-list"])
def test_broken_npz_names_the_file(tmp_path, damage):
    path = tmp_path / "checkpoint.npz"
    save_npz(path, {"x": np.zeros(100)}, {"generation": 1})
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-40])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 50)
    elif damage == "meta-not-json":
        np.savez(path, x=np.zeros(3), meta=np.array("{not json"))
    else:
        np.savez(path, x=np.zeros(3), meta=np.array("[1, 2]"))
    with pytest.raises(RunFolderError, match=f"{path}: unreadable or corrupt"):
        load_npz(path)
    with pytest.raises(RunFolderError, match="file not found"):
        load_npz(tmp_path / "absent.npz")


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write(path, lambda h: h.write(b"old"))

    def half_then_fail(handle):
        handle.write(b"ne")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(RunFolderError, match=f"cannot write {path}: No space left on device"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_files_are_readable_by_others_as_open_would_make_them(tmp_path):
    atomic_write(tmp_path / "f", lambda h: h.write(b"x"))
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o666 & ~mask


def test_create_never_reuses_and_cleans_up_when_config_cannot_be_written(tmp_path,
                                                                          monkeypatch):
    config = RunConfig(text="hello there", backend="serial")
    first = RunFolder.create(tmp_path, None, config)
    second = RunFolder.create(tmp_path, None, config)
    assert first.path != second.path and first.read_config() == config
    with pytest.raises(RunFolderError, match="exists already"):
        RunFolder.create(tmp_path, first.path.name, config)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runfolder.tempfile, "mkstemp", full)
    with pytest.raises(RunFolderError, match="No space left on device"):
        RunFolder.create(tmp_path, "new", config)
    assert not (tmp_path / "new").exists()

    def interrupted(*args, **kwargs):  # Ctrl-C, or any error that is not an OSError
        raise KeyboardInterrupt

    monkeypatch.setattr(runfolder.tempfile, "mkstemp", interrupted)
    with pytest.raises(KeyboardInterrupt):
        RunFolder.create(tmp_path, "newer", config)
    assert not (tmp_path / "newer").exists()


def test_a_bad_log_record_loses_only_itself(tmp_path, capsys):
    handler = runfolder.RunLogHandler(tmp_path / "run.log", encoding="utf-8")
    logger = logging.getLogger("evonet.test_runfolder")
    logger.addHandler(handler)
    logger.propagate = False  # pytest's own capture handler raises on a bad record
    try:
        logger.warning("%d generations", "many")  # a plugin's bug: wrong %-argument
        logger.warning("the next record")
    finally:
        logger.propagate = True
        logger.removeHandler(handler)
        handler.close()
    assert not handler.failed
    assert "the next record" in (tmp_path / "run.log").read_text()
    assert "run.log stops here" not in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_an_unwritable_run_log_is_reported_once_and_the_run_still_ends_well(tmp_path,
                                                                            capsys):
    from evonet.cli import main

    small = ["--text", "abcabd", "--population", "8", "--hidden", "4", "--backend",
             "serial", "--quiet", "--checkpoint-every", "2"]
    assert main(["run", *small, "--generations", "4", "--runs-dir", str(tmp_path),
                 "--name", "r"]) == 0
    folder = tmp_path / "r"
    (folder / "run.log").unlink()
    (folder / "run.log").symlink_to("/dev/full")  # every write: ENOSPC
    capsys.readouterr()
    assert main(["resume", str(folder), "--generations", "9"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"evonet: warning: cannot write {folder / 'run.log'}: "
                                "No space left on device; run.log stops here, the run goes on"]
    assert "not solved in 9 generations" in out  # the final report, after the failure
    assert json.loads((folder / "summary.json").read_text())["generations"] == 9
    assert len((folder / "log.jsonl").read_text().splitlines()) == 10


def write_log(folder: RunFolder, records: list[dict], tail: bytes = b"") -> bytes:
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records) + tail
    (folder / "log.jsonl").write_bytes(data)
    return data


@given(n=st.integers(0, 6), keep=st.integers(0, 6),
       tail=st.sampled_from([b"", b'{"gen": 9, "fit', b"\xff\xfe", b'{"gen": 9}']))
def test_trim_keeps_exactly_the_first_records_byte_for_byte(tmp_path_factory, n, keep, tail):
    folder = RunFolder(tmp_path_factory.mktemp("run"))
    records = [{"gen": i, "x": 0.1 * i, "t": "é"} for i in range(n)]
    data = write_log(folder, records, tail)
    complete = n  # a line without its newline is torn, whatever it holds
    assert folder.read_records() == records[:complete]
    if keep > complete:
        with pytest.raises(RunFolderError, match="log.jsonl"):
            folder.trim_records(keep)
        assert (folder / "log.jsonl").read_bytes() == data  # untouched
        return
    assert folder.trim_records(keep) == records[:keep]
    expected = b"".join(json.dumps(r).encode() + b"\n" for r in records[:keep])
    assert (folder / "log.jsonl").read_bytes() == expected


def test_read_records_stops_at_a_damaged_line(tmp_path):
    folder = RunFolder(tmp_path)
    write_log(folder, [{"gen": 0}], b'{"gen": 1, garbage\n{"gen": 2}\n')
    assert folder.read_records() == [{"gen": 0}]
    assert RunFolder(tmp_path / "nothing").read_records() == []


def test_append_on_a_full_disk_is_one_clear_error(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path)
    folder.append_record({"gen": 0})
    with pytest.raises(ValueError):  # NaN never reaches the log
        folder.append_record({"gen": 1, "x": float("nan")})
    real_open = open

    def full_open(path, *args, **kwargs):
        if str(path).endswith("log.jsonl"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_open)
    with pytest.raises(RunFolderError, match="log.jsonl: No space left on device"):
        folder.append_record({"gen": 1})
    monkeypatch.undo()
    assert folder.read_records() == [{"gen": 0}]


def test_read_config_of_a_non_run_folder(tmp_path):
    with pytest.raises(RunFolderError, match="not a run folder"):
        RunFolder(tmp_path).read_config()


def test_sync_records_fsyncs_the_log(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path)
    folder.sync_records()  # no log yet: nothing to do
    folder.append_record({"gen": 0})
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(runfolder.os, "fsync", fsync)
    folder.sync_records()
    assert synced == [(tmp_path / "log.jsonl").stat().st_ino]


def test_remove_temporaries_left_by_a_killed_write(tmp_path):
    folder = RunFolder(tmp_path)
    atomic_write(folder / "checkpoint.npz", lambda h: h.write(b"good"))
    (tmp_path / ".checkpoint.npz.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".best.npz.x.tmp").write_bytes(b"half")
    folder.remove_temporaries()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]
