"""Progress of a run on stderr: rich's bars on a terminal, a line at most every 15 seconds in a log."""

from __future__ import annotations

import sys
import time


class LineProgress:
    """Progress for logs (stderr not a terminal): a line per update, at most every 15 seconds."""

    def __init__(self, *columns, transient: bool = False):
        self.tasks: dict[int, list] = {}
        self.started = time.time()
        self.last = 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, description: str, total: int) -> int:
        self.tasks[len(self.tasks)] = [description, 0, total, time.time()]
        return len(self.tasks) - 1

    def update(self, task: int, description: str) -> None:
        self.tasks[task][0] = description

    def advance(self, task: int, n: int) -> None:
        entry = self.tasks[task]
        entry[1] += n
        now = time.time()
        if now - self.last >= 15 or entry[1] >= entry[2]:
            self.last = now
            done, total, began = entry[1], entry[2], entry[3]
            eta = (now - began) / done * (total - done) if done else 0
            print(f"[{now - self.started:6.0f}s] {entry[0]}: {done}/{total}, ETA {eta:.0f}s", file=sys.stderr,
                  flush=True)


def progress():
    """rich's progress bars on a terminal, ``LineProgress`` otherwise."""
    if not sys.stderr.isatty():
        return LineProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("samples"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=False)
