"""Per-(task, language) scores from a run's sample results, written to ``results.json`` with their metric facts.

For each metric the task declares (``TaskDef.metrics``), one score row
``{task, lang, metric, value, stderr, ci95, n, kind, scale, higher_is_better, primary}``:

- ``binary`` and ``continuous`` metrics: the mean over the samples that have the metric (a sample with a
  model error has none: it is left out of ``n`` and counted in ``errors``), with ``statistics.mean_interval``;
- ``corpus`` metrics: the score of the summed per-sample sufficient statistics (``Metric.from_statistics``),
  a percentile bootstrap over segments for its interval, and the metric's signature (sacrebleu's) for the
  unit's target language.
"""

from __future__ import annotations

from pathlib import Path

from harness.core.errors import OctoglotError
from harness.core.metrics import Metric
from harness.core.records import FORMAT_VERSION, Sample, SampleResult, write_json
from harness.scoring.statistics import BOOTSTRAP_RESAMPLES, bootstrap, mean_and_stderr, mean_interval
from harness.tasks.definition import TaskDef


def _mean_row(metric: Metric, results: list[SampleResult]) -> dict | None:
    values = [r.metrics[metric.name] for r in results if r.error is None and metric.name in r.metrics]
    if not values:
        return None
    value, stderr = mean_and_stderr(values)
    ci = mean_interval(values, metric.scale)
    return {"value": value, "stderr": stderr, "ci95": list(ci) if ci else None, "n": len(values)}


def _corpus_row(metric: Metric, task: TaskDef, lang: str, samples: list[Sample],
                results: list[SampleResult]) -> dict | None:
    scored = [(s, r) for s, r in zip(samples, results, strict=True) if r.error is None]
    if not scored:
        return None
    missing = next((s.id for s, r in scored if not r.statistics or metric.name not in r.statistics), None)
    if missing is not None:
        raise OctoglotError(f"{task.id} ({lang}): item {missing} has no {metric.name} statistics: the scorer of a "
                            "corpus metric must return them for every sample")
    stats = [r.statistics[metric.name] for _, r in scored]
    sums = [sum(column) for column in zip(*stats)]
    stderr, low, high = bootstrap(stats, metric.from_statistics)
    targets = {s.answer_lang or s.lang for s, _ in scored}
    if len(targets) != 1:
        raise OctoglotError(f"{task.id} ({lang}): a corpus score needs one target language, got "
                            f"{', '.join(sorted(targets))}")
    row = {"value": float(metric.from_statistics(sums)), "stderr": stderr, "ci95": [low, high], "n": len(scored),
           "ci_method": f"percentile bootstrap over segments, {BOOTSTRAP_RESAMPLES} resamples"}
    if metric.signature is not None:
        row["signature"] = metric.signature(targets.pop())
    return row


def unit_scores(task: TaskDef, lang: str, samples: list[Sample], results: list[SampleResult],
                draws: int = 1, primary_only: bool = False) -> list[dict]:
    """One score row per declared metric that has a value (module docstring); ``draws``: responses per sample
    (``--samples``), which decides the metrics of tasks that combine several (``TaskDef.run_metrics``)."""
    rows = []
    for metric in task.run_metrics(draws):
        if primary_only and metric.name != task.primary:
            continue
        if metric.kind == "corpus":
            row = _corpus_row(metric, task, lang, samples, results)
        else:
            row = _mean_row(metric, results)
        if row is not None:
            rows.append({"task": task.id, "lang": lang, "metric": metric.name, **row,
                         **metric.facts(metric.name == task.primary)})
    return rows


def result_line(unit, results: list[SampleResult]) -> str:
    """What the terminal says as a unit finishes: its primary metric (0-100) over its samples, and its errors."""
    rows = unit_scores(unit.task, unit.lang, unit.samples, results, unit.info.get("draws", 1), primary_only=True)
    errors = sum(r.error is not None for r in results)
    score = f"{rows[0]['metric']} {rows[0]['value'] * 100 / rows[0]['scale']:.1f} (n={rows[0]['n']})" if rows \
        else "no score"
    return f"{unit.task.id}/{unit.lang}: {score}" + (f", {errors} error(s)" if errors else "")


def write_results(run_dir: Path, units, results: list[list[SampleResult]]) -> list[dict]:
    """``results.json`` of an executed run (``units``: its planned units, ``results``: theirs, in order)."""
    scores: list[dict] = []
    for unit, unit_results in zip(units, results, strict=True):
        scores += unit_scores(unit.task, unit.lang, unit.samples, unit_results, unit.info.get("draws", 1))
    errors = {f"{u.task.id}/{u.lang}": sum(r.error is not None for r in rs) for u, rs in zip(units, results)}
    write_json(Path(run_dir) / "results.json", {"format_version": FORMAT_VERSION, "scores": scores, "errors": errors})
    return scores
