"""The tool-calling family: BFCL's eleven single-turn categories build from the real files (its self-contradicting
items reported as data errors, never scored), ``--limit`` takes N items per category, every format a model can be
sent (plain prompt, prompt in a chat template, native tools for templates and APIs) carries the same documents,
outcomes say how a model failed, BFCL's overall is its formula, and MASSIVE-Agents reads its raw hub file offline
from the pinned revision."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, SHARED_DATA, needs_data
from harness.core.languages import parse_langs
from harness.core.records import SampleResult
from harness.execution.plan import RunConfig, plan
from harness.scoring.aggregate import unit_scores
from harness.tasks import packs
from harness.tasks.families import tool_calling as family
from harness.tasks.registry import get_task, parse_tasks

MASSIVE_ROWS = [json.loads(line) for line in
                (FIXTURES / "hub" / "massive_agents.de.jsonl").read_text("utf-8").splitlines()]


def literals(lang: str) -> dict:
    pack = packs.load_pack(lang)
    return {name: pack.literals[name] for name in family.LITERALS}


def massive_samples():
    return family.massive_agents_samples(MASSIVE_ROWS, literals("de"), "de")


@pytest.fixture(scope="module")
def bfcl_unit():
    if SHARED_DATA is None:
        pytest.skip("needs the real data")
    config = RunConfig("smollm2", None, parse_tasks("bfcl"), parse_langs("en"), None, 1234, Path("/nonexistent"),
                       str(SHARED_DATA))
    (unit,), _ = plan(config)
    return unit


@needs_data
def test_bfcl_builds_every_category_and_reports_its_data_errors(bfcl_unit):
    counts = Counter(s.meta["category"] for s in bfcl_unit.samples)
    assert counts == {"simple_python": 400, "multiple": 200, "parallel": 200, "parallel_multiple": 200,
                      "irrelevance": 240, "live_simple": 258, "live_multiple": 1053, "live_parallel": 16,
                      "live_parallel_multiple": 24, "live_irrelevance": 884, "live_relevance": 16}
    errors = {s.id for s in bfcl_unit.samples if s.meta["data_error"]}
    assert errors == {"live_simple_106-63-0", "live_simple_112-68-0", "live_multiple_507-149-4",
                      "live_multiple_862-181-3", "live_multiple_964-207-0"}
    broken = next(s for s in bfcl_unit.samples if s.id == "live_simple_106-63-0")
    scored = family.score(broken, "[record()]")
    assert scored.metrics == {} and "auto_loan_payment_start" in scored.details["data_error"]


@needs_data
def test_limit_takes_n_seeded_items_per_category():
    config = RunConfig("smollm2", None, parse_tasks("bfcl"), parse_langs("en"), 3, 1234, Path("/nonexistent"),
                       str(SHARED_DATA))
    (unit,), _ = plan(config)
    assert Counter(s.meta["category"] for s in unit.samples) == {c: 3 for c in family.CATEGORIES}
    other = RunConfig("smollm2", None, parse_tasks("bfcl"), parse_langs("en"), 3, 7, Path("/nonexistent"),
                      str(SHARED_DATA))
    (unit7,), _ = plan(other)
    assert {s.id for s in unit.samples} != {s.id for s in unit7.samples}  # seeded, not the first rows
    assert not {s.id for s in unit.samples} <= {f"{c}_{i}" for c in family.CATEGORIES for i in range(3)}


def test_every_format_carries_the_documents_and_the_request():
    (sample, *_) = massive_samples()
    plain = sample.prompt
    assert plain.startswith(literals("de")["tool_instruction"]) and '"alarm.set"' in plain
    assert plain.rstrip().endswith("Antwort:") and "Frage: weck mich" in plain
    prompted, tools = family.chat_messages(sample, "prompt")
    assert tools is None and [m["role"] for m in prompted] == ["user"]
    assert '"alarm.set"' in prompted[0]["content"] and prompted[0]["content"].endswith("fünf uhr morgens auf")
    native, tools = family.chat_messages(sample, "template")
    assert native == [{"role": "user", "content": "weck mich diese woche um fünf uhr morgens auf"}]
    assert tools[0]["function"]["name"] == "alarm.set" and tools[0]["function"]["parameters"]["type"] == "object"
    _, api_tools = family.chat_messages(sample, "api")
    assert [t["function"]["name"] for t in api_tools] == ["alarm_set", "weather_query", "play_music"]


def test_outcomes_say_how_a_call_failed():
    alarm, weather, music = massive_samples()
    cases = [
        (alarm, "[alarm.set(date='diese Woche', time='fünf Uhr morgens')]", "correct"),
        (alarm, "[alarm.set(time='fünf uhr morgens')]", "missing_optional"),
        (alarm, "[weather.query(place_name='berlin')]", "wrong_function"),
        (alarm, "[alarm.set(date='this week', time='five am')]", "wrong_value"),
        (alarm, "Ich stelle den Wecker.", "no_call"),
        (alarm, "[alarm.set(date='diese woche', time=]", "malformed"),
        (weather, '{"tool_calls": [{"name": "weather_query", "arguments": "{\\"place_name\\": \\"Berlin\\", '
                  '\\"date\\": \\"morgen\\"}"}]}', "correct"),  # an API's names read back
        (music, "[play.music(artist_name='Herbert Grönemeyer')]", "correct"),  # "" acceptable: may be left out
    ]
    for sample, response, outcome in cases:
        scored = family.score(sample, response)
        assert scored.details["outcome"] == outcome, (response, scored.details)
        assert scored.metrics["accuracy"] == float(outcome == "correct")
        assert scored.details["request_lang"] == "de"


def test_argument_language_counts_values_in_the_request_language_and_in_english():
    alarm = massive_samples()[0]
    german = family.score(alarm, "[alarm.set(date='diese woche', time='fünf uhr morgens')]").details["arguments"]
    english = family.score(alarm, "[alarm.set(date='this week', time='five in the morning')]").details["arguments"]
    assert german["judged"] == 2 and german["request"] >= 1 and german["english"] == 0
    assert english["judged"] == 2 and english["english"] >= 1 and english["request"] == 0


@needs_data
def test_bfcl_overall_is_the_mean_of_non_live_live_and_hallucination(bfcl_unit):
    task = get_task("bfcl")
    chosen = {}
    for s in bfcl_unit.samples:  # two items per category
        if not s.meta["data_error"] and sum(c == s.meta["category"] for c in map(lambda x: x.meta["category"],
                                                                                 chosen.values())) < 2:
            chosen[s.id] = s
    samples = list(chosen.values())
    results, right = [], {}
    for n, s in enumerate(samples):
        good = n % 2 == 0 or s.meta["category"] == "simple_python"  # simple_python all right, the rest one of two
        if s.meta["answers"] is None:
            response = ("No function fits." if s.meta["kind"] == "irrelevance" else "[f(a=1)]") if good else \
                ("[f(a=1)]" if s.meta["kind"] == "irrelevance" else "No.")
        else:
            from harness.tasks.call_checker import answer_as_calls

            calls = answer_as_calls(s.meta["answers"], s.meta["functions"])
            response = json.dumps([{"name": n_, "arguments": a} for c in calls for n_, a in c.items()]) if good \
                else "No call."
        scored = family.score(s, response)
        right.setdefault(s.meta["category"], []).append(scored.metrics["accuracy"])
        results.append(SampleResult(s.id, s.prompt_hash, s.target, response=response, metrics=scored.metrics,
                                    statistics=scored.statistics, details=scored.details))
    share = {c: sum(v) / len(v) for c, v in right.items()}
    assert share["simple_python"] == 1.0 and share["multiple"] == 0.5
    rows = {r["metric"]: r for r in unit_scores(task, "en", samples, results)}
    non_live = sum(share[c] for c in family.NON_LIVE) / 4
    live = sum(sum(right[c]) for c in family.LIVE) / sum(len(right[c]) for c in family.LIVE)
    hallucination = (share["irrelevance"] + share["live_irrelevance"]) / 2
    assert rows["non_live"]["value"] == pytest.approx(non_live)
    assert rows["bfcl"]["value"] == pytest.approx((non_live + live + hallucination) / 3)
    assert rows["bfcl"]["primary"] and rows["bfcl"]["kind"] == "corpus"


def test_massive_agents_reads_its_raw_hub_file_offline_at_the_pinned_revision(tmp_path):
    entry = packs.load_pack("de").tasks["massive_agents"]
    snapshot = (tmp_path / "hub" / "datasets--AmazonScience--massive-agents" / "snapshots" / entry.hub.revision
                / entry.hub.file)
    snapshot.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "hub" / "massive_agents.de.jsonl", snapshot)
    code = ("import json; from harness.tasks import data, packs; "
            "hub = packs.load_pack('de').tasks['massive_agents'].hub; "
            "loaded = data.read_hub(hub, ('id', 'question', 'function', 'gt')); "
            "print(json.dumps([len(loaded.rows), loaded.provenance]))")
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    n, provenance = json.loads(out.stdout.strip().splitlines()[-1])
    assert n == 3 and provenance["revision"] == entry.hub.revision and provenance["file"].endswith("de-DE/input.jsonl")
    assert len(provenance["sha256"]) == 64
    env["HF_HUB_CACHE"] = str(tmp_path / "empty")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert out.returncode != 0 and "AmazonScience/massive-agents" in out.stderr and "de-DE/input.jsonl" in out.stderr


def test_a_pack_hub_source_needs_a_split_or_a_file():
    base = "format: 1\nlanguage: de\nversion: 1\nliterals: {}\ntasks:\n  massive_agents:\n    version: 1\n    hub:\n"
    rev = "      id: a/b\n      revision: \"" + "0" * 40 + "\"\n"
    with pytest.raises(Exception, match="either 'split'"):
        packs.parse_pack(base + rev, "x.yaml")
    with pytest.raises(Exception, match="either 'split'"):
        packs.parse_pack(base + rev + "      split: test\n      file: a.jsonl\n", "x.yaml")
    pack = packs.parse_pack(base + rev + "      file: a.jsonl\n", "x.yaml")
    assert pack.tasks["massive_agents"].hub.file == "a.jsonl"
