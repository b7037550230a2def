"""What `evonet run` prints while it evolves."""

from __future__ import annotations

import sys
import time


class LineProgress:
    """One line every `every` generations (and at the first), to a stream."""

    def __init__(self, stream=None, every: int = 10, quiet: bool = False):
        self.stream = stream or sys.stdout
        self.every, self.quiet = every, quiet
        self._last = 0.0

    def __call__(self, record: dict) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if record["gen"] % self.every and not record["solved"] and now - self._last < 2.0:
            return
        self._last = now
        print(f"gen {record['gen']:>5}  best {record['fitness_max']:.4f}  "
              f"acc {record['accuracy_best']:.3f}  {record['evals_per_s']:>9.0f} evals/s  "
              f"{record['elapsed_s']:7.2f}s  {record['best_text']!r}",
              file=self.stream, flush=True)

    def close(self) -> None:
        pass
