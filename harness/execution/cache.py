"""The response cache: finished model requests, keyed by model identity and request.

lm-eval's cache keys on the request only, so a second model can be served the first model's
answers (its issues #2715 and #4063). Here the key is sha256 of the model identity (backend, model
args that change outputs, weight hash) and the request (kind, context, continuation or generation
arguments). Entries are written in SQLite (WAL mode, one transaction per chunk), so a killed run
loses at most the chunk in flight and a re-run or resumed run makes no call for what is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

from harness.core.errors import OctoglotError
from harness.core.locations import cache_dir

# model args that never change a model's outputs (where it runs, how requests are batched)
NEUTRAL_ARGS = ("batch_size", "device", "max_batch_size", "parallelize", "num_concurrent", "max_retries", "timeout")


def model_key(backend: str, args: dict[str, str], identity: dict[str, str]) -> str:
    relevant = {k: v for k, v in args.items() if k not in NEUTRAL_ARGS}
    if identity.get("weights_sha256"):  # aliases: the weights, not the cache folder they were converted into
        relevant.pop("pretrained", None)
    blob = json.dumps({"backend": backend, "args": relevant, "identity": identity}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def default_path() -> Path:
    """``$OCTOGLOT_RESPONSE_CACHE`` (a file) when set, else ``<octoglot cache>/responses.sqlite``."""
    if os.environ.get("OCTOGLOT_RESPONSE_CACHE"):
        return Path(os.environ["OCTOGLOT_RESPONSE_CACHE"])
    return cache_dir() / "responses.sqlite"


def request_key(model: str, kind: str, request: object) -> str:
    blob = json.dumps([model, kind, request], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


OPEN_ATTEMPTS = 40  # about 40 seconds of waiting for another run that holds the file


class ResponseCache:
    def __init__(self, path: Path, model: str):
        self.db_path = path
        self.model = model
        for attempt in range(OPEN_ATTEMPTS):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(path, timeout=60)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, "
                                "kind TEXT, value TEXT)")
                self.db.commit()
                return
            except sqlite3.OperationalError as exc:
                # another run is switching the same file to WAL or creating the table: SQLite answers
                # "database is locked" at once, without its busy timeout; wait and try again
                if "locked" not in str(exc) or attempt == OPEN_ATTEMPTS - 1:
                    raise OctoglotError(f"response cache {path}: cannot open: {exc}") from None
                time.sleep(0.05 * (attempt + 1))
            except (OSError, sqlite3.Error) as exc:
                raise OctoglotError(f"response cache {path}: cannot open: {getattr(exc, 'strerror', None) or exc}") \
                    from None

    def key(self, kind: str, request: object) -> str:
        return request_key(self.model, kind, request)

    def get_many(self, keys: list[str]) -> dict[str, object]:
        found: dict[str, object] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            marks = ",".join("?" * len(part))
            for key, value in self.db.execute(f"SELECT key, value FROM responses WHERE key IN ({marks})", part):
                found[key] = json.loads(value)
        return found

    def put_many(self, kind: str, items: dict[str, object]) -> None:
        """Store one chunk in one transaction. A failed write (disk full) is an ``OctoglotError``, not a
        model error: the run stops, and every chunk committed before stays."""
        try:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                                    [(k, self.model, kind, json.dumps(v, ensure_ascii=False))
                                     for k, v in items.items()])
        except sqlite3.Error as exc:
            raise OctoglotError(f"response cache {self.db_path}: cannot write: {exc}") from None

    def count(self, model: str | None = None) -> int:
        if model is None:
            return self.db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM responses WHERE model = ?", (model,)).fetchone()[0]

    def close(self) -> None:
        self.db.close()
