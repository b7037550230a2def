"""Interrupting a run without tearing it: SIGINT (Ctrl-C) and SIGTERM become a request
to stop that the generation loop honours between generations.

A signal that raised KeyboardInterrupt in the middle of a generation would stop it
half done (the random states advanced, the population not yet updated), and a
checkpoint of that state would not continue the run exactly. So, while a run is
evolving, the signals only set a flag: the loop finishes the generation it is in,
writes a checkpoint, and raises `RunInterrupted`. A second Ctrl-C during that time,
the checkpoint write included, only repeats the request.

Python lets only the main thread install signal handlers; elsewhere (a run in a
worker thread) the signals keep their usual behaviour.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Whether, and by which signal, the user asked the run to stop."""

    def __init__(self) -> None:
        self.signal: int | None = None

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def _note(self, signum, frame) -> None:
        # Acknowledge at once: a long generation would otherwise look like a hang.
        again = " (already stopping)" if self.signal is not None else ""
        print(f"evonet: stopping{again}: finishing this generation and writing the checkpoint",
              file=sys.stderr, flush=True)
        self.signal = signum


@contextlib.contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """Inside the block SIGINT and SIGTERM set `StopRequest.signal` instead of raising."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {sig: signal.signal(sig, request._note) for sig in SIGNALS}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
