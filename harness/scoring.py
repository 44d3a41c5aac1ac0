"""Per-(task, language) scores from per-sample metrics."""

from __future__ import annotations

import math

from harness.records import SampleResult


def mean_and_stderr(values: list[float]) -> tuple[float, float | None]:
    """Mean and its standard error (sample standard deviation / sqrt(n), as lm-eval reports)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def aggregate(task: str, lang: str, results: list[SampleResult], metrics: tuple[str, ...]) -> list[dict]:
    """One score row per metric; samples with an error are left out and counted separately."""
    rows = []
    for metric in metrics:
        values = [r.metrics[metric] for r in results if r.error is None and metric in r.metrics]
        if not values:
            continue
        value, stderr = mean_and_stderr(values)
        rows.append({"task": task, "lang": lang, "metric": metric, "value": value, "stderr": stderr,
                     "n": len(values)})
    return rows
