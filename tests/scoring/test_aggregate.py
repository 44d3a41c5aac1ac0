import math

import pytest
from sacrebleu.metrics import CHRF

from harness.core.metrics import Metric
from harness.core.records import Sample, SampleResult, Scored
from harness.scoring import statistics as scoring
from harness.scoring.aggregate import unit_scores
from harness.tasks.definition import TaskDef

ACC = Metric("acc", "binary", 1)
CHRF_SENTENCE = Metric("chrf", "continuous", 100)


def results(values, metric="acc"):
    return [SampleResult(str(i), "h", 0, metrics={metric: v}) for i, v in enumerate(values)]


def aggregate(task: str, lang: str, rows: list[SampleResult], metrics: tuple[str, ...]) -> list[dict]:
    """The score rows of one unit whose task declares ``metrics`` (the first is primary)."""
    declared = tuple({"acc": ACC, "chrf": CHRF_SENTENCE}[m] for m in metrics)
    definition = TaskDef(id=task, description="", kind="loglikelihood", build=lambda *a: [],
                         score=lambda s, o: Scored({}), metrics=declared, primary=metrics[0])
    samples = [Sample(r.id, task, lang, "p") for r in rows]
    return unit_scores(definition, lang, samples, rows)


def test_mean_stderr_and_wilson_interval_on_binary_values():
    (row,) = aggregate("t", "de", results([1, 0, 1, 1]), ("acc",))
    assert row["value"] == 0.75 and row["n"] == 4
    assert row["stderr"] == pytest.approx(math.sqrt((0.75 * 0.25 * 4 / 3) / 4))
    # Wilson 95% for 3/4, computed by hand: centre 0.5987, half-width 0.3037
    assert row["ci95"] == pytest.approx([0.3006, 0.9544], abs=1e-4)


def test_wilson_is_not_degenerate_at_zero():
    low, high = scoring.wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-4)


def test_errors_are_left_out_of_the_mean():
    rows = results([1, 0]) + [SampleResult("x", "h", 0, error="HTTPError: 500")]
    (row,) = aggregate("t", "de", rows, ("acc",))
    assert row["n"] == 2 and row["value"] == 0.5


def test_continuous_values_use_the_normal_interval():
    (row,) = aggregate("t", "de", results([10.0, 20.0, 30.0], "chrf"), ("chrf",))
    assert row["ci95"] == pytest.approx([20 - 1.96 * row["stderr"], 20 + 1.96 * row["stderr"]], rel=1e-3)


def test_a_normal_interval_is_clipped_to_the_metric_range():
    (row,) = aggregate("t", "de", results([0.0, 2.0, 96.0], "chrf"), ("chrf",))
    assert row["value"] - 1.96 * row["stderr"] < 0  # the normal interval would reach below zero
    assert row["ci95"][0] == 0.0 and row["ci95"][1] <= 100.0


def test_every_row_carries_its_metric_facts():
    (row,) = aggregate("t", "de", results([1, 0]), ("acc",))
    assert {k: row[k] for k in ("kind", "scale", "higher_is_better", "primary")} == \
        {"kind": "binary", "scale": 1, "higher_is_better": True, "primary": True}


def test_bootstrap_of_a_corpus_metric_is_reproducible_and_brackets_the_score():
    refs = [f"the cat number {i} sat on the mat" for i in range(200)]
    hyps = [r if i % 3 else r.replace("cat", "dog") for i, r in enumerate(refs)]
    metric = CHRF(word_order=2)
    value = metric.corpus_score(hyps, [refs]).score
    stats = metric._extract_corpus_statistics(hyps, [refs])

    def score(sums):
        return metric._compute_score_from_stats(sums).score

    first = scoring.bootstrap(stats, score)
    assert first == scoring.bootstrap(stats, score)  # seeded
    sd, low, high = first
    assert low < value < high and sd > 0
    # identical segments: no spread at all
    assert scoring.bootstrap([stats[1]] * 50, score)[0] == pytest.approx(0.0, abs=1e-9)
