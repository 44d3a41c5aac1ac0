"""Per-(task, language) scores from per-sample metrics, with 95% confidence intervals.

- Means of per-sample metrics: the standard error of the mean (as lm-eval reports it) and a 95%
  interval: Wilson's score interval when every value is 0 or 1 (it stays inside [0, 1] and is not
  degenerate at 0% or 100%), else mean ± 1.96 standard errors.
- Corpus metrics (chrF++, BLEU): a percentile bootstrap over segments, from per-segment sufficient
  statistics, so each resample costs one matrix product and one cheap score computation.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from harness.records import SampleResult

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 12345


def mean_and_stderr(values: list[float]) -> tuple[float, float | None]:
    """Mean and its standard error (sample standard deviation / sqrt(n), as lm-eval reports)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: list[float]) -> tuple[float, float] | None:
    mean, stderr = mean_and_stderr(values)
    if all(v in (0.0, 1.0) for v in values):
        return wilson_interval(sum(values), len(values))
    if stderr is None:
        return None
    return mean - Z95 * stderr, mean + Z95 * stderr


def aggregate(task: str, lang: str, results: list[SampleResult], metrics: tuple[str, ...]) -> list[dict]:
    """One score row per metric; samples with an error are left out and counted separately."""
    rows = []
    for metric in metrics:
        values = [r.metrics[metric] for r in results if r.error is None and metric in r.metrics]
        if not values:
            continue
        value, stderr = mean_and_stderr(values)
        ci = mean_interval(values)
        rows.append({"task": task, "lang": lang, "metric": metric, "value": value, "stderr": stderr,
                     "ci95": list(ci) if ci else None, "n": len(values)})
    return rows


def bootstrap(stats: Sequence[Sequence[float]], score: Callable[[list[int]], float],
              resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """Percentile bootstrap of a corpus score over segments.

    ``stats`` holds one row of additive sufficient statistics per segment; ``score`` turns summed
    statistics into the corpus score. Returns (standard deviation, 2.5th percentile, 97.5th percentile).
    """
    import numpy as np

    from harness.stats import resample_counts  # the draws of compare's paired bootstrap (sacrebleu's)

    table = np.asarray(stats, dtype=np.int64)
    sums = resample_counts(len(table), resamples, seed) @ table
    values = np.array([score(row.tolist()) for row in sums])
    low, high = np.percentile(values, [2.5, 97.5])
    return float(values.std(ddof=1)), float(low), float(high)
