"""Where octoglot keeps what it makes once and reuses: converted weights, the response cache, backend checks."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$OCTOGLOT_CACHE``, else ``$XDG_CACHE_HOME/octoglot``, else ``~/.cache/octoglot``."""
    if os.environ.get("OCTOGLOT_CACHE"):
        return Path(os.environ["OCTOGLOT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "octoglot"
