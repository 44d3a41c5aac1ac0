"""Progress of a run on stderr: rich's bars on a terminal; in a log, a line at most every 15 seconds on progress,
and at least every ``HEARTBEAT`` seconds while nothing finishes (loading the model, a batch of long generations)."""

from __future__ import annotations

import sys
import threading
import time

HEARTBEAT = 30.0  # seconds: the longest a log stays silent during a run


class LineProgress:
    """Progress for logs (stderr not a terminal): a line per update, at most every 15 seconds, and a heartbeat line
    when ``heartbeat`` seconds pass without one (a batch of generations can take minutes before anything finishes)."""

    def __init__(self, *columns, transient: bool = False, heartbeat: float = HEARTBEAT):
        self.tasks: dict[int, list] = {}
        self.started = time.time()
        self.last = 0.0
        self.spoke = self.started  # when the last line was printed
        self.moved = self.started  # when the last sample finished (progress lines follow within 15 s)
        self.heartbeat = heartbeat
        self.current: int | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._beat, name="octoglot-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False

    def _say(self, line: str) -> None:
        with self._lock:
            self.spoke = time.time()
            print(f"[{self.spoke - self.started:6.0f}s] {line}", file=sys.stderr, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(min(1.0, self.heartbeat / 4)):
            if time.time() - max(self.spoke, self.moved) < self.heartbeat:
                continue
            if self.current is None:
                self._say("working: reading data, loading the model")
            else:
                description, done, total, began = self.tasks[self.current]
                self._say(f"{description}: {done}/{total}, {time.time() - began:.0f}s in this stage, "
                          f"working on the next {'batch' if done < total else 'stage'}")

    def print(self, line: str) -> None:
        """A line of its own (a finished unit's score), stamped like the progress lines."""
        self._say(line)

    def add_task(self, description: str, total: int) -> int:
        self.tasks[len(self.tasks)] = [description, 0, total, time.time()]
        self.current = len(self.tasks) - 1
        return self.current

    def update(self, task: int, description: str) -> None:
        self.tasks[task][0] = description

    def advance(self, task: int, n: int) -> None:
        entry = self.tasks[task]
        entry[1] += n
        self.current = task
        now = self.moved = time.time()
        if now - self.last >= 15 or entry[1] >= entry[2]:
            self.last = now
            done, total, began = entry[1], entry[2], entry[3]
            eta = (now - began) / done * (total - done) if done else 0
            self._say(f"{entry[0]}: {done}/{total}, ETA {eta:.0f}s")


def progress():
    """rich's progress bars on a terminal, ``LineProgress`` otherwise."""
    if not sys.stderr.isatty():
        return LineProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("samples"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=False)
