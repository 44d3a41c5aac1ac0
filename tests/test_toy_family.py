"""A family is one module: this test module is a task family (``TASKS`` below: one task, two metrics), run end to
end through the real command line on a fixture pack and data (``tests/fixtures/toy/``), with no edit anywhere
else. ``$OCTOGLOT_FAMILIES`` names this module for ``octoglot run``; ``leaderboard`` and ``compare`` then run
WITHOUT it, so everything they know about the task and its metrics comes from the run directories.

The metrics are chosen so that a report interpreting the run with built-in assumptions would get them wrong:
the primary metric ``confidence`` is continuous on a 0-100 scale (not a proportion to multiply by 100, not 0/1
for McNemar), the second one, ``right``, is binary on 0-1.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from harness.core.errors import OctoglotError
from harness.core.metrics import Metric
from harness.core.records import Sample, Scored
from harness.tasks.definition import TaskDef

# ---------------------------------------------------------------------------------------------- the family

TEMPLATE = "{toy_question} {country}?\n{toy_answer}:"


def capitals(rows: list[dict], literals, lang: str, extras=None) -> list[Sample]:
    return [Sample(str(row["id"]), "toy_capitals", lang,
                   TEMPLATE.format(toy_question=literals["toy_question"], country=row["country"],
                                   toy_answer=literals["toy_answer"]),
                   choices=tuple(f" {option}" for option in row["options"]), target=int(row["answer"]))
            for row in rows]


def score(sample: Sample, loglikelihoods: list[float]) -> Scored:
    """``confidence``: 100 × the gold option's share of the options' probability; ``right``: the gold one is the
    most likely."""
    top = max(loglikelihoods)
    weights = [math.exp(ll - top) for ll in loglikelihoods]
    gold = int(sample.target)
    return Scored({"confidence": 100 * weights[gold] / sum(weights),
                   "right": float(max(range(len(weights)), key=weights.__getitem__) == gold)})


TASKS = (
    TaskDef(id="toy_capitals", description="toy: the capital of a country, three options (tests only)",
            kind="loglikelihood", build=capitals, score=score,
            metrics=(Metric("confidence", "continuous", 100, description="the gold option's probability share"),
                     Metric("right", "binary", 1, description="the gold option is the most likely")),
            primary="confidence", template=TEMPLATE, literals=("toy_question", "toy_answer"),
            columns=("id", "country", "options", "answer"), parallel=True,
            not_exportable="a test family"),
)

# ---------------------------------------------------------------------------------------------- the tests

from conftest import FIXTURES, REPO, octoglot  # noqa: E402  (after the family: the module is imported as one)

TOY = FIXTURES / "toy"


def env(model_cache: Path | None = None, family: bool = True) -> dict:
    out = {"OCTOGLOT_PACKS": str(TOY / "packs")}
    if model_cache is not None:
        out["OCTOGLOT_CACHE"] = str(model_cache)
    if family:
        out["OCTOGLOT_FAMILIES"] = "test_toy_family"
        out["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "tests"), os.environ.get("PYTHONPATH")) if p)
    else:
        out["OCTOGLOT_FAMILIES"] = ""
    return out


def run(tmp_path: Path, model: str, model_cache: Path) -> Path:
    out = tmp_path / model
    done = octoglot("run", "--model", model, "--tasks", "toy_capitals", "--langs", "en,de", "--limit", "5",
                    "--no-cache", "--data-dir", str(TOY / "data"), "--output", str(out), env=env(model_cache))
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = out.iterdir()
    return run_dir


@pytest.fixture(scope="module")
def runs(model_cache, tmp_path_factory) -> tuple[Path, Path]:
    """The bundled SmolLM2 and lm-eval's dummy model (random log-likelihoods) on the toy task."""
    root = tmp_path_factory.mktemp("toy-runs")
    return run(root, "smollm2", model_cache), run(root, "dummy", model_cache)


@pytest.mark.slow
def test_the_run_records_the_families_metric_facts(runs):
    smollm2, _ = runs
    scores = json.loads((smollm2 / "results.json").read_text())["scores"]
    facts = {(s["lang"], s["metric"]): {k: s[k] for k in ("kind", "scale", "higher_is_better", "primary")}
             for s in scores}
    for lang in ("en", "de"):
        assert facts[lang, "confidence"] == {"kind": "continuous", "scale": 100, "higher_is_better": True,
                                             "primary": True}
        assert facts[lang, "right"] == {"kind": "binary", "scale": 1, "higher_is_better": True, "primary": False}
    manifest = json.loads((smollm2 / "manifest.json").read_text())
    units = {u["lang"]: u for u in manifest["units"]}
    assert units["en"]["family"] == "test_toy_family" and units["en"]["parallel"] is True
    records = [json.loads(line) for line in (smollm2 / "samples/de/toy_capitals.jsonl").read_text().splitlines()]
    assert len(records) == 5 and all(0 <= r["metrics"]["confidence"] <= 100 for r in records)
    # the limit is seeded: the same items in both languages
    english = [json.loads(line)["id"] for line in (smollm2 / "samples/en/toy_capitals.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == english


@pytest.mark.slow
def test_leaderboard_reads_the_facts_from_the_runs_without_the_family(runs, tmp_path):
    smollm2, dummy = runs
    done = octoglot("leaderboard", str(smollm2), str(dummy), "--out", str(tmp_path / "board"), env=env(family=False))
    assert done.returncode == 0, done.stderr[-3000:]
    board = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    (table,) = [t for t in board["tables"] if t["key"] == "task:toy_capitals"]
    cells = {(c["model"], c["column"]): c for c in table["cells"]}
    for run_dir, model in ((smollm2, "smollm2"), (dummy, "dummy")):
        stored = {s["lang"]: s for s in json.loads((run_dir / "results.json").read_text())["scores"]
                  if s["metric"] == "confidence"}
        for lang in ("en", "de"):
            # scale 100: shown as stored, not multiplied by 100 as a proportion would be
            assert cells[model, lang]["value"] == pytest.approx(stored[lang]["value"])
            assert 0 <= cells[model, lang]["ci_low"] <= cells[model, lang]["value"] <= cells[model, lang]["ci_high"]
    ranks = {model: cells[model, "en"]["rank"] for model in ("smollm2", "dummy")}
    better = max(("smollm2", "dummy"), key=lambda m: cells[m, "en"]["value"])
    assert ranks[better] == 1 and sorted(ranks.values()) == [1, 2]
    assert "toy_capitals: confidence by language" in (tmp_path / "board" / "leaderboard.md").read_text()


@pytest.mark.slow
def test_compare_tests_the_continuous_primary_metric_without_the_family(runs):
    smollm2, dummy = runs
    done = octoglot("compare", str(smollm2), str(dummy), "--format", "json", env=env(family=False))
    assert done.returncode == 0, done.stderr[-3000:]
    cells = json.loads(done.stdout)["cells"]
    assert [(c["task"], c["lang"]) for c in cells] == [("toy_capitals", "en"), ("toy_capitals", "de")]
    for cell in cells:
        # continuous: the paired bootstrap of the mean, not McNemar (which would reject non-0/1 values)
        assert (cell["metric"], cell["test"], cell["n"]) == ("confidence", "paired bootstrap (mean)", 5)
        assert cell["delta"] == pytest.approx(cell["score_b"] - cell["score_a"])
    assert json.loads(done.stdout)["consistency"]["tasks"] == []  # the primary metric is not 0/1


def test_the_registry_refuses_a_task_declared_twice():
    import sys

    from harness.tasks.registry import Registry

    registry = Registry()
    registry.add_family(sys.modules[__name__])
    with pytest.raises(OctoglotError, match=r"task 'toy_capitals' is declared twice: by test_toy_family and by "
                                            r"another_family"):
        registry.add(TASKS[0], "another_family")


def test_a_pack_may_only_name_literals_and_tasks_a_registered_family_declares(tmp_path):
    """Without the family, the toy pack's literals and task are unknown: the error names file, field and
    the closest known name."""
    done = octoglot("run", "--model", "dummy", "--tasks", "sib200", "--langs", "de", "--limit", "1",
                    "--output", str(tmp_path), env=env(family=False))
    assert done.returncode == 2
    assert "pack " in done.stderr and "de/pack.yaml: tasks.toy_capitals: unknown task" in done.stderr
