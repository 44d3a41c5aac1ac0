"""Progress in a log: a line on progress, and a heartbeat line while nothing finishes, so a log never stays silent
for longer than the heartbeat (a batch of long generations, or loading a model, takes minutes)."""

from __future__ import annotations

import time

from harness.execution.progress import HEARTBEAT, LineProgress


def test_a_silent_stretch_gets_heartbeat_lines(capsys):
    with LineProgress(heartbeat=0.3) as bars:
        time.sleep(0.6)  # reading data, loading the model: no stage yet
        bar = bars.add_task("generating", total=64)
        time.sleep(0.8)  # the first batch: nothing finished
        bars.advance(bar, 64)
    lines = capsys.readouterr().err.splitlines()
    assert any("loading the model" in line for line in lines[:2])
    beats = [line for line in lines if "generating: 0/64" in line and "working on the next batch" in line]
    assert beats, lines
    assert lines[-1].endswith("generating: 64/64, ETA 0s")


def test_no_heartbeat_while_lines_keep_coming(capsys):
    with LineProgress(heartbeat=0.5) as bars:
        bar = bars.add_task("scoring", total=10)
        for _ in range(10):
            time.sleep(0.1)
            bars.advance(bar, 1)
    err = capsys.readouterr().err
    assert "working on" not in err and "scoring: 10/10" in err


def test_the_default_heartbeat_is_at_most_thirty_seconds():
    assert HEARTBEAT <= 30
