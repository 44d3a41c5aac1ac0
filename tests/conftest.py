"""Shared test helpers. Tests that need the real benchmark data or the bundled model
say so with a skip reason; nothing here touches the network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_data() -> Path | None:
    env = os.environ.get("OCTOGLOT_DATA")
    for candidate in (env, REPO.parent / "shared" / "data"):
        if candidate and Path(candidate, "sib200").is_dir():
            return Path(candidate).resolve()
    return None


SHARED_DATA = shared_data()
needs_data = pytest.mark.skipif(SHARED_DATA is None, reason="real benchmark data not found (../shared/data or $OCTOGLOT_DATA)")


def octoglot(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or REPO, timeout=900)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A fresh octoglot cache for the session, with SmolLM2 converted into it once (real conversion)."""
    from harness import models

    root = tmp_path_factory.mktemp("octoglot-cache")
    try:
        gguf = models.locate_gguf(models.ALIASES["smollm2"])
    except Exception as exc:  # the package is part of the install step; say so if it is missing
        pytest.skip(f"bundled model unavailable: {exc}")
    models.convert_gguf(gguf, root)
    return root


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tokenizer_dir(model_cache: Path) -> Path:
    """The converted SmolLM2's folder (its tokenizer, for API backends that need one offline)."""
    (path,) = (model_cache / "models").glob("*/tokenizer.json")
    return path.parent


@pytest.fixture(scope="session")
def real_sib_run(model_cache, tmp_path_factory) -> Path:
    """A real run of the bundled SmolLM2 on SIB-200 in all eight languages (5 seeded items each), for the
    scorer's tests on real run directories."""
    if SHARED_DATA is None:
        pytest.skip("real benchmark data not found (../shared/data or $OCTOGLOT_DATA)")
    out = tmp_path_factory.mktemp("real-sib-run")
    result = octoglot("run", "--model", "smollm2", "--tasks", "sib200", "--limit", "5", "--no-cache",
                      "--output", str(out), env={"OCTOGLOT_CACHE": str(model_cache),
                                                 "OCTOGLOT_DATA": str(SHARED_DATA)})
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir
