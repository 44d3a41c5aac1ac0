"""The layers of ``harness`` (README "Layout"), enforced with import-linter's contracts in pyproject.toml: each
layer imports only from the layers below it, and no package has an import cycle between its modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the tree at root, not the installed one
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def copy_tree(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "harness", tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_every_contract_is_kept():
    assert LINT.is_file(), "import-linter is a test dependency (pip install -e '.[test]')"
    done = lint(REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("harness/core/records.py", "from harness.reporting import runs  # noqa", "harness: cli > interop"),
    ("harness/execution/run.py", "from harness.scoring import aggregate  # noqa", "harness: cli > interop"),
    ("harness/tasks/families/qa.py", "from harness.execution import engine  # noqa", "harness: cli > interop"),
    ("harness/core/languages.py", "from harness.core import langid  # noqa", "no import cycle"),
])
def test_an_upward_import_or_a_cycle_breaks_a_contract(tmp_path, module, line, contract):
    root = copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    done = lint(root)
    assert done.returncode != 0, done.stdout[-3000:]
    assert f"{contract}" in done.stdout and "BROKEN" in done.stdout
