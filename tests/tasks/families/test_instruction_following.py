"""The instruction-following family: the real Marco-Bench-MIF and M-IFEval files build in every language they cover
(every instruction has a checker), the data's own errors are reported and never scored, IFEval's metrics
(prompt- and instruction-level, strict and loose, and their mean) come out of the aggregation, and a run through
the command line records every verdict for the leaderboard's per-instruction table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SHARED_DATA, needs_data, octoglot
from harness.core.languages import parse_langs
from harness.core.records import Sample, SampleResult
from harness.execution.plan import RunConfig, plan
from harness.scoring.aggregate import unit_scores
from harness.tasks.families import instruction_following as family
from harness.tasks.registry import get_task

LITERALS = {"constrained_answers": ["My answer is yes", "My answer is no", "My answer is maybe"],
            "double_quotes": ['""']}


def sample(ids: list[str], kwargs: list[dict], key: str = "1", data_error: str | None = None) -> Sample:
    return Sample(key, "ifeval", "en", "Write.", target=key,
                  meta={"instructions": ids, "kwargs": kwargs, "literals": LITERALS, "data_error": data_error})


def test_scoring_one_response():
    s = sample(["punctuation:no_comma", "length_constraints:number_words", "startend:end_checker"],
               [{}, {"relation": "at least", "num_words": 5}, {"end_phrase": "Bye."}])
    scored = family.score(s, "Hello there my good friend\nBye.\n")
    assert scored.metrics == {"prompt_strict": 1.0, "prompt_loose": 1.0}
    assert scored.statistics["inst_strict"] == [3, 3] and scored.statistics["ifeval"] == [1.0, 1.0, 3, 3, 3, 1]
    scored = family.score(s, "Hello, there.\nBye.")
    assert scored.metrics == {"prompt_strict": 0.0, "prompt_loose": 0.0}
    assert [v["strict"] for v in scored.details["instructions"]] == [False, False, True]


def test_a_data_error_is_never_scored():
    scored = family.score(sample(["punctuation:no_comma"], [{}], data_error="2 ids but 3 kwargs"), "Hi")
    assert scored.metrics == {} and scored.details == {"data_error": "2 ids but 3 kwargs"}


def test_instruction_accuracy_is_micro_averaged_and_the_primary_is_the_mean_of_four():
    task = get_task("ifeval")
    first = sample(["punctuation:no_comma", "startend:end_checker"], [{}, {"end_phrase": "Bye."}], key="1")
    second = sample(["punctuation:no_comma", "startend:end_checker", "length_constraints:number_words"],
                    [{}, {"end_phrase": "Bye."}, {"relation": "at least", "num_words": 2}], key="2")
    responses = ["Hi, you.\nBye.", "Hello there\nBye."]  # first: 1 of 2 followed; second: 3 of 3
    results = []
    for s, response in zip((first, second), responses):
        scored = family.score(s, response)
        results.append(SampleResult(s.id, s.prompt_hash, s.target, response=response, metrics=scored.metrics,
                                    statistics=scored.statistics))
    rows = {r["metric"]: r for r in unit_scores(task, "en", [first, second], results)}
    assert rows["inst_strict"]["value"] == pytest.approx(4 / 5)  # not the mean of 1/2 and 3/3
    assert rows["prompt_strict"]["value"] == 0.5
    # loosely, the first response without its first line ("Bye.") follows both of its instructions
    assert rows["prompt_loose"]["value"] == 1.0 and rows["inst_loose"]["value"] == 1.0
    assert rows["ifeval"]["value"] == pytest.approx((0.5 + 1.0 + 4 / 5 + 1.0) / 4)
    assert rows["ifeval"]["primary"] and rows["ifeval"]["kind"] == "corpus" and rows["ifeval"]["scale"] == 1


@needs_data
def test_the_real_files_build_in_every_language_they_cover():
    config = RunConfig(model="x", model_args=None, tasks=[get_task(t) for t in ("ifeval", "ifeval_es_mt", "m_ifeval")],
                       langs=parse_langs(None), limit=None, seed=1, output=Path("."), data_dir=str(SHARED_DATA))
    units = {(u.task.id, u.lang): u for u in plan(config)[0]}
    assert {lang for task, lang in units if task == "ifeval"} == {"en", "de", "fr", "it", "pt", "es", "th"}
    assert {lang for task, lang in units if task == "m_ifeval"} == {"en", "fr", "es"}
    sizes = {key: len(u.samples) for key, u in units.items()}
    assert sizes["ifeval", "de"] == 541 and sizes["m_ifeval", "fr"] == 235 and sizes["m_ifeval", "es"] == 115
    broken = {(task, lang, s.id) for (task, lang), u in units.items() for s in u.samples if s.meta["data_error"]}
    assert broken == {("ifeval", "es", "2380"), ("ifeval_es_mt", "es", "1127")}
    # parallel: IFEval's keys in every language (the files list them in different orders)
    assert {s.id for s in units["ifeval", "th"].samples} == {s.id for s in units["ifeval", "de"].samples}
    th = units["ifeval", "th"].samples[0]
    assert th.meta["instructions"][-1] == "language:response_language" and th.meta["kwargs"][-1]["language"] in (
        "th", "en")


@needs_data
def test_a_run_records_every_verdict_and_the_leaderboard_tabulates_them(tmp_path):
    out = tmp_path / "runs"
    done = octoglot("run", "--model", "dummy", "--tasks", "ifeval,m_ifeval", "--langs", "fr,th", "--limit", "5",
                    "--no-cache", "--data-dir", str(SHARED_DATA), "--output", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = out.iterdir()
    records = [json.loads(line) for line in (run_dir / "samples" / "th" / "ifeval.jsonl").read_text().splitlines()]
    assert len(records) == 5 and all(r["details"]["instructions"] for r in records)
    # "lol" follows some instructions (no comma) and not others (the response language)
    verdicts = {(v["id"], v["strict"]) for r in records for v in r["details"]["instructions"]}
    assert ("language:response_language", False) in verdicts
    scores = {(s["task"], s["lang"], s["metric"]): s for s in
              json.loads((run_dir / "results.json").read_text())["scores"]}
    assert scores["ifeval", "th", "ifeval"]["primary"] and 0 <= scores["ifeval", "th", "ifeval"]["value"] < 1
    unit = next(u for u in json.loads((run_dir / "manifest.json").read_text())["units"] if u["task"] == "m_ifeval")
    assert unit["generation"]["max_new_tokens"] == 1280 and unit["generation"]["until"] == []
    board = octoglot("leaderboard", str(run_dir), "--out", str(tmp_path / "board"))
    assert board.returncode == 0, board.stderr[-3000:]
    report = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    rows = [r for r in report["instructions"] if r["task"] == "ifeval" and r["lang"] == "th"]
    assert sum(r["n"] for r in rows) == sum(len(r["details"]["instructions"]) for r in records)
    assert "## Instruction types" in (tmp_path / "board" / "leaderboard.md").read_text()
