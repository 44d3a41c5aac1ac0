"""Crash safety with the real model (SmolLM2, SIB-200, real data; slow).

- A run killed with SIGKILL at a random point after its first chunk was stored, then continued with
  ``--resume``, loses no sample and duplicates none (each planned id exactly once per language), does
  not recompute what the response cache holds, and scores exactly as an uninterrupted run. The test proves
  the kill landed mid-run: the process died of the signal with fewer requests stored than planned, and the
  resumed run computed the rest.
- Two runs writing into the same ``--output`` folder (and the same response cache) at the same time
  leave two complete, valid run directories.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, SHARED_DATA, needs_data

pytestmark = [pytest.mark.slow, needs_data]

LANGS = ("en", "de", "fr", "hi")  # four units of one chunk each: the kill lands after the first, before the last
LIMIT = 6
OPTIONS = 7  # SIB-200 topics: requests per sample
RUN = ["run", "--model", "smollm2", "--tasks", "sib200", "--langs", ",".join(LANGS), "--limit", str(LIMIT),
       "--data-dir", str(SHARED_DATA)]


def env_for(model_cache: Path, responses: Path | None) -> dict:
    # one torch thread per run: on a shared 2-core machine, torch's default two threads per process
    # oversubscribe the cores and a small SmolLM2 run took 115 s instead of 17 s
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OCTOGLOT_CACHE": str(model_cache),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    if responses is not None:  # its own response cache, empty at the start
        env["OCTOGLOT_RESPONSE_CACHE"] = str(responses)
    return env


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as fh:  # output to a file: a pipe nobody reads could block the run
        return subprocess.Popen([sys.executable, "-m", "harness", *args], stdout=fh, stderr=subprocess.STDOUT,
                                env=env, cwd=REPO)


def finish(proc: subprocess.Popen, log: Path, timeout: int = 600) -> str:
    proc.wait(timeout=timeout)
    text = log.read_text(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    return text


def cache_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def records(run_dir: Path, lang: str) -> list[dict]:
    path = run_dir / "samples" / lang / "sib200.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores(run_dir: Path) -> dict:
    results = json.loads((run_dir / "results.json").read_text())
    return {(s["task"], s["lang"], s["metric"]): (s["value"], s["n"]) for s in results["scores"]}


def assert_same_scores(a: Path, b: Path) -> None:
    sa, sb = scores(a), scores(b)
    assert sa.keys() == sb.keys() and sa
    for key in sa:
        assert sa[key][1] == sb[key][1], key
        assert sa[key][0] == pytest.approx(sb[key][0], abs=1e-9), key


@pytest.fixture(scope="module")
def reference(model_cache, tmp_path_factory) -> Path:
    """The same run, uninterrupted and without the response cache."""
    out = tmp_path_factory.mktemp("reference")
    proc = start([*RUN, "--no-cache", "--output", str(out / "runs")], env_for(model_cache, None), out / "log")
    finish(proc, out / "log")
    (run_dir,) = (out / "runs").iterdir()
    return run_dir


def test_sigkill_then_resume_loses_nothing_duplicates_nothing(model_cache, reference, tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    responses = tmp_path / "responses.sqlite"
    env = env_for(model_cache, responses)
    proc = start([*RUN, "--output", str(tmp_path / "runs")], env, tmp_path / "log")
    deadline = time.time() + 600
    try:
        while cache_rows(responses) == 0:  # the first chunk is stored: some samples finished
            assert proc.poll() is None, (tmp_path / "log").read_text()[-3000:]
            assert time.time() < deadline, "the run stored nothing in 600 s"
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))  # a random point after that
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # this test's own child, by its PID
        proc.wait(timeout=60)
    killed_mid_run = proc.returncode == -signal.SIGKILL
    (run_dir,) = (tmp_path / "runs").iterdir()
    stored = cache_rows(responses)  # what the killed run had committed
    kept = [lang for lang in LANGS if (run_dir / "samples" / lang / "sib200.jsonl").is_file()]
    why = f"seed {seed}; killed mid-run: {killed_mid_run}; cache rows {stored}; units on disk {kept}"
    requests_planned = len(LANGS) * LIMIT * OPTIONS
    assert killed_mid_run, why  # the signal ended the run, not the run's own end
    assert LIMIT * OPTIONS <= stored < requests_planned, why  # the first unit's chunk at least, not everything
    assert len(kept) < len(LANGS) and not (run_dir / "manifest.json").exists(), why

    resumed = subprocess.run([sys.executable, "-m", "harness", "run", "--resume", str(run_dir)], capture_output=True,
                             text=True, env=env, cwd=REPO, timeout=600)
    assert resumed.returncode == 0, (why, resumed.stderr[-3000:])

    for lang in LANGS:  # every planned id exactly once, the same items as the uninterrupted run
        got = [r["id"] for r in records(run_dir, lang)]
        planned = [r["id"] for r in records(reference, lang)]
        assert got == planned and len(set(got)) == LIMIT, (why, lang, got, planned)
        assert all(r["error"] is None for r in records(run_dir, lang)), why
        for mine, ref in zip(records(run_dir, lang), records(reference, lang)):
            assert mine["loglikelihoods"] == pytest.approx(ref["loglikelihoods"], rel=1e-6, abs=1e-6), why
    assert not list(run_dir.rglob("*.tmp")), why
    assert_same_scores(run_dir, reference)

    manifest = json.loads((run_dir / "manifest.json").read_text())
    requests = manifest["requests"]
    recomputed = [lang for lang in LANGS if lang not in kept]
    assert requests["requests"] == len(recomputed) * LIMIT * OPTIONS, why
    # what the killed run stored is answered by the cache, never computed again
    assert requests["cached"] == stored - len(kept) * LIMIT * OPTIONS, why
    assert requests["model_requests"] == requests["requests"] - requests["cached"], why
    assert requests["model_requests"] == requests_planned - stored > 0, why  # the resume computed exactly the rest
    assert cache_rows(responses) == requests_planned


def test_two_runs_into_one_output_folder_at_once(model_cache, tmp_path):
    out = tmp_path / "runs"
    env = env_for(model_cache, tmp_path / "shared-responses.sqlite")  # one response cache for both, too
    args = ["run", "--model", "smollm2", "--tasks", "sib200", "--langs", "en", "--limit", "2", "--data-dir",
            str(SHARED_DATA), "--output", str(out)]
    procs = [start(args, env, tmp_path / f"log{i}") for i in range(2)]
    for i, proc in enumerate(procs):
        finish(proc, tmp_path / f"log{i}")
    run_dirs = sorted(out.iterdir())
    assert len(run_dirs) == 2, run_dirs
    for run_dir in run_dirs:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert [(u["task"], u["lang"], u["n_samples"], u["n_errors"]) for u in manifest["units"]] == \
            [("sib200", "en", 2, 0)]
        got = records(run_dir, "en")
        assert len(got) == 2 and len({r["id"] for r in got}) == 2
        assert all(len(r["loglikelihoods"]) == OPTIONS and r["error"] is None for r in got)
        assert json.loads((run_dir / "results.json").read_text())["errors"] == {"sib200/en": 0}
        assert json.loads((run_dir / "run_config.json").read_text())["limit"] == 2
        assert not list(run_dir.rglob("*.tmp"))
    assert [r["id"] for r in records(run_dirs[0], "en")] == [r["id"] for r in records(run_dirs[1], "en")]
    assert_same_scores(*run_dirs)
