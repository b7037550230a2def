"""The progress displays: which one is chosen, and what each writes."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.progress import (
    BarProgress,
    LineProgress,
    NullProgress,
    clip,
    make_progress,
    terminal_size,
)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def record(gen: int, text: str = "hello", solved: bool = False) -> dict:
    return {"gen": gen, "fitness_max": -1.25 + gen / 1000, "accuracy_best": 0.5,
            "evals_per_s": 4321.0, "elapsed_s": 65.0 + gen, "best_text": text,
            "solved": solved, "sigma": 0.1, "mutation_success": None}


def screen_lines(output: str) -> list[str]:
    """What a terminal would show on each physical line: drop escapes, split on CR/LF."""
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "\n", output)
    return [line for line in re.split(r"[\r\n]", plain) if line]


def test_make_progress_picks_bar_on_a_terminal_lines_otherwise_and_nothing_when_quiet():
    assert isinstance(make_progress(stream=Terminal(), total=10), BarProgress)
    assert isinstance(make_progress(stream=io.StringIO(), total=10), LineProgress)
    assert isinstance(make_progress(quiet=True, stream=Terminal()), NullProgress)


def test_quiet_writes_nothing(capsys):
    progress = make_progress(quiet=True, total=5)
    for gen in range(5):
        progress(record(gen))
    progress.close()
    assert capsys.readouterr() == ("", "")


def test_lines_every_n_generations_and_when_solved():
    stream = io.StringIO()
    progress = LineProgress(stream, every=10, seconds=1e9)
    for gen in range(25):
        progress(record(gen))
    for gen in range(25, 32):  # a solved run extended by resume stays solved
        progress(record(gen, "hello", solved=True))
    progress.close()
    gens = [int(line.split()[1]) for line in stream.getvalue().splitlines()]
    assert gens == [0, 10, 20, 25, 30]
    assert "'hello'" in stream.getvalue() and "4321 evals/s" in stream.getvalue()


def test_bar_shows_generation_fitness_accuracy_rate_elapsed_and_the_regeneration():
    stream = Terminal()
    progress = BarProgress(stream, total=50, interval=0.0, width=100)
    for gen in range(0, 31, 10):
        progress(record(gen, text=f"text at {gen}"))
    progress.close()
    lines = screen_lines(stream.getvalue())
    bar = [line for line in lines if line.startswith("gen 30/50")][-1]
    assert "best -1.2200" in bar and "acc 0.500" in bar and "4321 evals/s" in bar
    assert "01:35" in bar  # elapsed from the record (65 s + 30), not the display's own clock
    assert lines[-1].strip() == "best: 'text at 30'"


def test_bar_and_regeneration_show_on_a_terminal_that_reports_no_size(monkeypatch):
    # A fresh pseudo-terminal is 0 x 0 until someone sets its size, as under `script`
    # or `docker -t`: tqdm, which measures stdout itself, then took the screen for 0
    # rows high and drew nothing.
    main_fd, child_fd = pty.openpty()
    try:
        assert os.get_terminal_size(child_fd) == (0, 0)
        with os.fdopen(os.dup(child_fd), "w") as terminal:
            monkeypatch.setattr(sys, "stdout", terminal)
            assert terminal_size(terminal) == (80, 24)
            progress = BarProgress(terminal, total=20, interval=0.0)
            progress(record(12, text="shown"))
            progress.close()
        output = b""
        while select.select([main_fd], [], [], 0)[0]:
            output += os.read(main_fd, 65536)
    finally:
        os.close(main_fd)
        os.close(child_fd)
    lines = screen_lines(output.decode())
    assert any(line.startswith("gen 12/20") for line in lines)
    assert "best: 'shown'" in [line.strip() for line in lines]


def test_columns_and_lines_in_the_environment_win(monkeypatch):
    main_fd, child_fd = pty.openpty()
    try:
        with os.fdopen(os.dup(child_fd), "w") as terminal:
            monkeypatch.setenv("COLUMNS", "120")
            monkeypatch.delenv("LINES", raising=False)
            assert terminal_size(terminal) == (120, 24)
            monkeypatch.setenv("LINES", "50")
            assert terminal_size(terminal) == (120, 50)
    finally:
        os.close(main_fd)
        os.close(child_fd)


def test_bar_lines_fit_the_width_even_for_long_texts_with_newlines():
    stream = Terminal()
    progress = BarProgress(stream, total=1000, interval=0.0, width=60)
    progress(record(999, text="a long line\nwith breaks\tand tabs " * 20))
    progress.close()
    lines = screen_lines(stream.getvalue())
    assert lines and all(len(line) <= 60 for line in lines)
    assert any(line.startswith("best: 'a long line\\nwith") for line in lines)


def test_bar_close_draws_the_last_record_even_inside_the_redraw_interval():
    stream = Terminal()
    progress = BarProgress(stream, total=100, interval=1e9, width=100)
    progress(record(0, text="first"))
    progress(record(7, text="last"))
    progress.close()
    lines = screen_lines(stream.getvalue())
    assert any(line.startswith("gen 7/100") for line in lines)
    assert lines[-1].strip() == "best: 'last'"


@settings(deadline=None)  # a shared, loaded machine: slowness is not a bug
@given(st.text(max_size=50), st.integers(min_value=0, max_value=60))
def test_clip_keeps_short_texts_and_cuts_long_ones_to_the_width(text, width):
    clipped = clip(text, width)
    assert len(clipped) <= max(width, 0)
    if len(text) <= width:
        assert clipped == text
    elif width:
        assert clipped.endswith("…") and text.startswith(clipped[:-1])
