"""Worker log records: picklable, handed to this process's handlers in order, at its level."""

from __future__ import annotations

import logging
import pickle

import pytest

from evonet.worker_log import RecordKeeper, keep_worker_records, replay, with_records

log = logging.getLogger("evonet")


@pytest.fixture
def clean_logger():
    """Restore the `evonet` logger's handlers, level and propagation after the test."""
    saved = list(log.handlers), log.level, log.propagate
    yield
    log.handlers[:], log.level, log.propagate = saved


def test_records_survive_pickling_with_their_message_and_traceback(clean_logger):
    def fail():
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("block %d failed", 3)

    _, records = with_records(logging.INFO, fail)
    (record,) = pickle.loads(pickle.dumps(records))
    assert record.getMessage() == "block 3 failed"
    assert "ValueError: boom" in record.exc_text


def test_with_records_leaves_the_workers_logging_as_it_was(clean_logger):
    log.setLevel(logging.WARNING)
    handlers = list(log.handlers)
    result, records = with_records(logging.INFO, lambda: log.info("hello") or 42)
    assert result == 42 and [r.getMessage() for r in records] == ["hello"]
    assert log.level == logging.WARNING and log.handlers == handlers


def test_kept_records_are_taken_once_and_not_written_to_inherited_handlers(clean_logger):
    inherited = RecordKeeper()  # stands for the run.log handler a forked worker inherits
    log.addHandler(inherited)
    keeper = keep_worker_records(logging.INFO)
    log.debug("too detailed")
    log.info("one")
    log.warning("two")
    assert [r.getMessage() for r in keeper.take()] == ["one", "two"]
    assert keeper.take() == [] and inherited.records == []


def test_replay_hands_records_to_handlers_in_order_at_this_processes_level(clean_logger):
    _, records = with_records(logging.INFO, lambda: [log.info("a"), log.warning("b")])
    main = RecordKeeper()
    log.handlers[:] = [main]
    log.setLevel(logging.WARNING)
    replay(records)
    assert [r.getMessage() for r in main.records] == ["b"]
    log.setLevel(logging.INFO)
    replay(records)
    assert [r.getMessage() for r in main.records] == ["b", "a", "b"]
