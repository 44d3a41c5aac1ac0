"""Shared test helpers; nothing here touches the network.

A test that needs a part this machine may lack (the real benchmark data, a bundled model, Chromium, Ray,
llama-cpp-python) says which with ``needs(...)`` / ``missing(...)``: on a developer's machine it is skipped with
the reason; with ``CI=true`` it fails with the reason, because CI installs every part and a silent skip there
would hide a broken install."""

from __future__ import annotations

import importlib
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


IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(reason: str):
    """A part the test needs is not here: fail under ``CI=true``, else skip, with the reason either way."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def needs(absent: bool, reason: str):
    """A mark for tests that need a part: ``missing(reason)`` at set-up when ``absent``."""
    return pytest.mark.needs(reason=reason) if absent else pytest.mark.needs(reason=None)


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs"):
        if mark.kwargs.get("reason"):
            missing(mark.kwargs["reason"])


def require_module(name: str, reason: str):
    """``import name``, or ``missing(reason)``: the module-level form, for a test module built on it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if IN_CI:
            raise RuntimeError(f"CI=true and {reason}") from None
        pytest.skip(reason, allow_module_level=True)


SHARED_DATA = shared_data()
needs_data = needs(SHARED_DATA is None, "the real benchmark data is not found (../shared/data or $OCTOGLOT_DATA)")


def data_dir(*parts: str) -> Path | None:
    """A folder of the real data, or None when there is none."""
    return SHARED_DATA.joinpath(*parts) if SHARED_DATA else None


def octoglot(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or REPO, timeout=900)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A fresh octoglot cache for the session, with SmolLM2 converted into it once (real conversion)."""
    from harness.execution import models

    root = tmp_path_factory.mktemp("octoglot-cache")
    try:
        gguf = models.locate_gguf(models.ALIASES["smollm2"])
    except Exception as exc:  # the package is part of the install step; say so if it is missing
        missing(f"the bundled model is unavailable: {exc}")
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
        missing("the real benchmark data is not found (../shared/data or $OCTOGLOT_DATA)")
    out = tmp_path_factory.mktemp("real-sib-run")
    result = octoglot("run", "--model", "smollm2", "--tasks", "sib200", "--limit", "5", "--no-cache",
                      "--output", str(out), env={"OCTOGLOT_CACHE": str(model_cache),
                                                 "OCTOGLOT_DATA": str(SHARED_DATA)})
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def gen_kwargs(sample) -> dict:
    """lm-eval's generation arguments of a sample, as its task declares them."""
    from harness.tasks.registry import get_task

    return get_task(sample.task).generation(sample).kwargs()
