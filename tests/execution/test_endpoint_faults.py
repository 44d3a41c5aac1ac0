"""OpenAI-compatible endpoints that misbehave (tests/fault_server.py on 127.0.0.1, through lm-eval's
``local-chat-completions`` and ``local-completions`` backends, by the real CLI).

What must hold:
- 429, 5xx and timeouts are retried with backoff, a bounded number of times: lm-eval's TemplateAPI wraps
  every call in tenacity (``max_retries`` attempts, default 3; exponential wait of 1 to 10 s). A response
  without choices is made an error by harness.models so that it is retried the same way;
- a run whose retries recovered exits 0 and scores every sample;
- a request that still fails is recorded on its own sample as ``error`` (never scored as a wrong
  answer), counted in results.json ``errors`` and the manifest's ``n_errors``, never cached, and the run
  exits 1; its neighbours in the same chunk are still scored (a failed chunk is asked again sample by
  sample), and the number of attempts stays bounded.

Every scenario is one CLI run; they run a few at a time, as they mostly wait on the server.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, SHARED_DATA, needs_data, tokenizer_dir
from fault_server import ANSWER, FaultServer

pytestmark = needs_data

MAX_RETRIES = 3  # lm-eval's default, stated here so the bounds below are explicit


@dataclass(frozen=True)
class Scenario:
    fault: str
    kind: str = "chat"  # "chat": mgsm_direct through local-chat-completions; "ll": sib200 through local-completions
    limit: int = 2


SCENARIOS = {
    "chat-429-once": Scenario("429-once"),
    "chat-500-once": Scenario("500-once"),
    "chat-slow-once": Scenario("slow-once"),
    "chat-first-500": Scenario("first-500"),
    "chat-500": Scenario("500"),
    "chat-slow": Scenario("slow", limit=1),
    "chat-badjson": Scenario("badjson", limit=1),
    "chat-nochoices": Scenario("nochoices", limit=1),
    "chat-emptychoices": Scenario("emptychoices", limit=1),
    "ll-500-once": Scenario("500-once", "ll"),
    "ll-500": Scenario("500", "ll", limit=1),
}


@dataclass
class Outcome:
    proc: subprocess.CompletedProcess
    run_dir: Path | None
    cache: Path
    attempts: list[int]  # how many times the server saw each distinct request body (sorted)

    def samples(self, task: str) -> list[dict]:
        path = self.run_dir / "samples" / "en" / f"{task}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]

    def json(self, name: str) -> dict:
        return json.loads((self.run_dir / name).read_text())

    def cache_rows(self) -> int:
        with sqlite3.connect(self.cache) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def command(scenario: Scenario, url: str, out: Path, tokenizer: Path) -> list[str]:
    common = ["--langs", "en", "--limit", str(scenario.limit), "--output", str(out), "--data-dir", str(SHARED_DATA)]
    if scenario.kind == "chat":
        return ["run", "--model", "local-chat-completions", "--model-args",
                f"base_url={url},model=fake,timeout=2,max_retries={MAX_RETRIES}", "--apply-chat-template",
                "--tasks", "mgsm_direct", *common]
    return ["run", "--model", "local-completions", "--model-args",
            f"base_url={url},model=fake,timeout=5,max_retries={MAX_RETRIES},tokenizer_backend=huggingface,"
            f"tokenizer={tokenizer},tokenized_requests=False", "--tasks", "sib200", *common]


@pytest.fixture(scope="module")
def outcomes(model_cache, tmp_path_factory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("endpoint-faults")
    tokenizer = tokenizer_dir(model_cache)  # the converted SmolLM2's, so nothing is downloaded
    with FaultServer(tokenizer=str(tokenizer), slow=4.0) as server:  # slow: beyond the 2 s timeout
        def one(name: str) -> subprocess.CompletedProcess:
            scenario = SCENARIOS[name]
            url = server.url(scenario.fault, chat=scenario.kind == "chat", name=name)
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                   "OCTOGLOT_CACHE": str(model_cache), "OCTOGLOT_RESPONSE_CACHE": str(root / f"{name}.sqlite")}
            return subprocess.run([sys.executable, "-m", "harness", *command(scenario, url, root / name, tokenizer)],
                                  capture_output=True, text=True, env=env, cwd=REPO, timeout=300)

        with ThreadPoolExecutor(max_workers=4) as pool:  # they mostly wait on the server or on backoff
            procs = dict(zip(SCENARIOS, pool.map(one, SCENARIOS)))
        stats = server.stats()
    out = {}
    for name, proc in procs.items():
        manifests = list((root / name).glob("*/manifest.json"))
        seen = stats["attempts"].get(f"{SCENARIOS[name].fault}/{name}", {})
        out[name] = Outcome(proc, manifests[0].parent if manifests else None, root / f"{name}.sqlite",
                            sorted(seen.values()))
    return out


def octoglot_lines(proc: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return [line for line in proc.stderr.splitlines() if line.startswith("octoglot:")]


# --- retries that recover ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, tries", [("chat-429-once", 2), ("chat-500-once", 2), ("chat-slow-once", 2)])
def test_generation_recovers_from_transient_faults(outcomes, name, tries):
    outcome = outcomes[name]
    assert outcome.proc.returncode == 0, outcome.proc.stderr[-3000:]
    assert octoglot_lines(outcome.proc) == []
    assert outcome.attempts == [tries, tries]  # each request: one failure, then one retry that worked, no more
    records = outcome.samples("mgsm_direct")
    assert [r["error"] for r in records] == [None, None]
    assert all(r["response"] == ANSWER and r["metrics"]["exact_match"] in (0.0, 1.0) for r in records)
    results = outcome.json("results.json")
    assert results["errors"] == {"mgsm_direct/en": 0}
    assert {s["metric"]: s["n"] for s in results["scores"]}["exact_match"] == 2
    assert outcome.cache_rows() == 2


@pytest.mark.parametrize("name, tries", [("ll-500-once", 2)])
def test_loglikelihood_recovers_from_transient_faults(outcomes, name, tries):
    outcome = outcomes[name]
    assert outcome.proc.returncode == 0, outcome.proc.stderr[-3000:]
    assert outcome.attempts and set(outcome.attempts) == {tries}
    records = outcome.samples("sib200")
    assert len(records) == 2
    for record in records:
        assert record["error"] is None and len(record["loglikelihoods"]) == 7
        assert all(math.isfinite(x) and x < 0 for x in record["loglikelihoods"])
    assert outcome.cache_rows() == 14  # 2 items x 7 topics


# --- faults that persist ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, message", [
    ("chat-500", "HTTPError: 500 Server Error"),
    ("chat-slow", "Read timed out"),
    ("chat-badjson", "JSONDecodeError"),
    ("chat-nochoices", "API response with no choices"),
    ("chat-emptychoices", "API response with no choices"),
    ("ll-500", "HTTPError: 500 Server Error"),
])
def test_persistent_faults_are_recorded_on_the_samples_never_scored(outcomes, name, message):
    outcome = outcomes[name]
    scenario = SCENARIOS[name]
    task = "mgsm_direct" if scenario.kind == "chat" else "sib200"
    assert outcome.proc.returncode == 1, outcome.proc.stderr[-3000:]
    (line,) = octoglot_lines(outcome.proc)
    assert f"{scenario.limit} sample(s) failed" in line and message in line and f"{task}/en" in line
    records = outcome.samples(task)
    assert len(records) == scenario.limit
    for record in records:
        assert message in record["error"]
        assert record["metrics"] == {} and record["response"] is None and record["loglikelihoods"] is None
    results = outcome.json("results.json")
    assert results["errors"] == {f"{task}/en": scenario.limit}
    assert results["scores"] == []  # nothing scored: a failure is not a wrong answer
    assert outcome.json("manifest.json")["units"][0]["n_errors"] == scenario.limit
    assert outcome.cache_rows() == 0  # nothing failed is cached
    # retried, and bounded: MAX_RETRIES attempts per call, and a request is sent by at most three calls
    # (the runner's generation prefetch, its chunk, then the sample alone once the chunk failed)
    assert outcome.attempts and min(outcome.attempts) >= MAX_RETRIES
    assert max(outcome.attempts) <= 3 * MAX_RETRIES


def test_one_failing_request_fails_only_its_own_sample(outcomes):
    outcome = outcomes["chat-first-500"]
    assert outcome.proc.returncode == 1
    (line,) = octoglot_lines(outcome.proc)
    assert "1 sample(s) failed" in line
    records = outcome.samples("mgsm_direct")
    failed = [r for r in records if r["error"]]
    scored = [r for r in records if not r["error"]]
    assert len(failed) == 1 and len(scored) == 1
    assert "500 Server Error" in failed[0]["error"] and failed[0]["metrics"] == {}
    assert scored[0]["response"] == ANSWER and "exact_match" in scored[0]["metrics"]
    results = outcome.json("results.json")
    assert results["errors"] == {"mgsm_direct/en": 1}
    assert {s["metric"]: s["n"] for s in results["scores"]}["exact_match"] == 1  # the failure is left out of n
    assert outcome.cache_rows() == 1
