"""Estimates with their uncertainty, and paired significance tests for comparing two runs on the same items.

Estimates of one (task, language):

- Means of per-sample metrics: the standard error of the mean (as lm-eval reports it) and a 95%
  interval: Wilson's score interval when every value is 0 or 1 (it stays inside [0, 1] and is not
  degenerate at 0% or 100%), else mean ± 1.96 standard errors, clipped to the metric's range.
- Corpus metrics (chrF++, BLEU): a percentile bootstrap over segments (``bootstrap``), from per-segment
  sufficient statistics, so each resample costs one matrix product and one cheap score computation.

Paired tests:

- ``mcnemar_exact(b, c)``: the exact (binomial) McNemar test on the discordant pairs of a binary
  per-sample metric: ``b`` items only system A got right, ``c`` items only B got right. Under the null
  hypothesis each discordant item is equally likely to go either way, so with ``n = b + c``::

      p = min(1, 2 * P(X <= min(b, c))),  X ~ Binomial(n, 1/2);   p = 1 when n = 0

  computed exactly with integer arithmetic (no scipy: it is not a dependency of this project).
- ``paired_bootstrap``: sacrebleu's paired bootstrap resampling test (``sacrebleu.significance.
  _paired_bs_test``, after Moses' ``bootstrap-hypothesis-difference-significance.pl``) on per-segment
  sufficient statistics, for corpus metrics such as chrF++ and BLEU. The same resampled segment
  indices serve both systems. With ``d = score_B - score_A`` on the full set and ``d*_r`` on resample
  ``r`` (R resamples), sacrebleu centres the absolute resampled differences and counts how often they
  exceed the observed one::

      s_r = |d*_r| - mean_r |d*_r|,   p = (#{r : s_r > |d|} + 1) / (R + 1)

  a two-sided test of "no difference" (the bootstrap distribution shifted to the null), with the +1
  smoothing sacrebleu takes from multeval, so p is never 0 (its floor is 1 / (R + 1)).

  One deliberate departure: when the two systems score the same on the full set and on every
  resample (identical outputs, or outputs with identical statistics), every s_r is 0, nothing is
  ``> 0`` and sacrebleu reports the floor, 1 / (R + 1), a "significant" difference of zero (checked
  with sacrebleu 2.6 ``PairedTest``). Here p is 1 in that case. Elsewhere the p-value is sacrebleu's.

  Indices are drawn exactly as sacrebleu draws them (``numpy.random.default_rng(seed).choice(n, (R, n))``,
  seed 12345, its default), so for the same segments these are sacrebleu's resamples. Statistics are
  summed in int64 (float64 for non-integer statistics) where sacrebleu sums float32 and scores the
  float32 sums: a resampled difference within float32 rounding of the threshold can fall the other
  way, so p-values may differ from sacrebleu's by a resample or two; the observed difference is the same.
  The 95% CI of the difference is the 2.5th and 97.5th percentiles of the resampled differences.
- ``paired_bootstrap`` also returns the resampled differences (``draws``), so that a macro average of
  differences over several (task, language) cells gets its interval from the same resamples: ``macro_draws``.
- ``holm(pvalues)``: Holm–Bonferroni adjusted p-values (step-down, made monotone, capped at 1): reject
  where the adjusted p-value is below alpha, and the family-wise error rate stays at most alpha.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 12345


def mean_and_stderr(values: Sequence[float]) -> tuple[float, float | None]:
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


def mean_interval(values: Sequence[float], scale: float | None = None) -> tuple[float, float] | None:
    """95% interval of a mean: Wilson's for 0/1 values, else mean ± 1.96 s.e., clipped to [0, ``scale``]."""
    mean, stderr = mean_and_stderr(values)
    if all(v in (0.0, 1.0) for v in values):
        return wilson_interval(sum(values), len(values))
    if stderr is None:
        return None
    low, high = mean - Z95 * stderr, mean + Z95 * stderr
    return (max(0.0, low), min(float(scale), high)) if scale is not None else (low, high)


def bootstrap(stats: Sequence[Sequence[float]], score: Callable[[list[int]], float],
              resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """Percentile bootstrap of a corpus score over segments.

    ``stats`` holds one row of additive sufficient statistics per segment; ``score`` turns summed
    statistics into the corpus score. Returns (standard deviation, 2.5th percentile, 97.5th percentile).
    The draws are ``resample_counts``' (sacrebleu's), as in the paired test.
    """
    values = _resampled_scores(_as_table(stats, "bootstrap"), score, resamples, seed)
    low, high = np.percentile(values, [2.5, 97.5])
    return float(values.std(ddof=1)), float(low), float(high)


def _resampled_scores(table: np.ndarray, score: Callable[[list], float], resamples: int, seed: int) -> np.ndarray:
    """The score of each resample's summed rows (``resample_counts``' draws): one matrix product, then ``score``."""
    sums = resample_counts(len(table), resamples, seed) @ table
    return np.array([score(row) for row in sums.tolist()], dtype=float)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (see the module docstring)."""
    if b < 0 or c < 0:
        raise ValueError(f"mcnemar_exact: discordant counts must be non-negative, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    term = tail = 1  # C(n, 0); exact integers: tail = 2**n * P(X <= min(b, c))
    for k in range(min(b, c)):
        term = term * (n - k) // (k + 1)  # C(n, k + 1), exact: C(n, k) * (n - k) is divisible by k + 1
        tail += term
    return min(1.0, 2 * tail / 2**n)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input order.

    The i-th smallest of m p-values (i from 1) becomes ``max over j <= i of min(1, (m - j + 1) * p_(j))``.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def paired_binary(a: Sequence[float], b: Sequence[float]) -> dict:
    """McNemar on two aligned lists of 0/1 values (item i of ``a`` and of ``b`` is the same item).

    Returns ``n``, ``b`` (items A got right and B wrong), ``c`` (A wrong, B right), ``delta``
    (mean of B minus mean of A, which equals (c - b) / n) and ``p_value`` (``mcnemar_exact(b, c)``).
    """
    if len(a) != len(b):
        raise ValueError(f"paired_binary: {len(a)} values for A but {len(b)} for B")
    for name, values in (("A", a), ("B", b)):
        odd = next((v for v in values if v not in (0, 1)), None)
        if odd is not None:
            raise ValueError(f"paired_binary: values for {name} must be 0 or 1, got {odd}")
    only_a = sum(1 for x, y in zip(a, b) if x == 1 and y == 0)
    only_b = sum(1 for x, y in zip(a, b) if x == 0 and y == 1)
    n = len(a)
    return {"n": n, "b": only_a, "c": only_b, "delta": (only_b - only_a) / n if n else 0.0,
            "p_value": mcnemar_exact(only_a, only_b)}


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """How often each of ``n`` segments is drawn in each resample: a (resamples, n) int64 matrix.

    The draws are sacrebleu's (``default_rng(seed).choice(n, size=(resamples, n))``); counting them
    lets a resample's summed statistics be one row of a matrix product.
    """
    idxs = np.random.default_rng(seed).choice(n, size=(resamples, n), replace=True)
    flat = (idxs + np.arange(resamples)[:, None] * n).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n)


def _as_table(stats: Sequence[Sequence[float]], name: str = "paired_bootstrap") -> np.ndarray:
    table = np.asarray(stats)
    if table.ndim != 2:
        raise ValueError(f"{name}: statistics must be one row of numbers per segment")
    return table.astype(np.int64 if np.issubdtype(table.dtype, np.integer) else np.float64)


def paired_bootstrap(stats_a: Sequence[Sequence[float]], stats_b: Sequence[Sequence[float]],
                     score_fn: Callable[[list], float], resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> dict:
    """Paired bootstrap test of two systems' corpus scores over the same segments.

    ``stats_a[i]`` and ``stats_b[i]`` are the additive sufficient statistics of segment i for system A
    and B (e.g. ``translation.segment_statistics``); ``score_fn`` turns column sums (a list) into the
    corpus score. Returns ``score_a``, ``score_b``, ``delta`` (B - A on all segments), ``p_value``
    (sacrebleu's, see the module docstring), ``ci95`` (2.5th and 97.5th percentiles of the resampled
    B - A), ``n`` and ``resamples``.
    """
    table_a, table_b = _as_table(stats_a), _as_table(stats_b)
    if table_a.shape != table_b.shape:
        raise ValueError(f"paired_bootstrap: statistics of shape {table_a.shape} for A but {table_b.shape} for B")
    n = len(table_a)
    if n == 0:
        raise ValueError("paired_bootstrap: no segments")
    score_a = float(score_fn(table_a.sum(axis=0).tolist()))
    score_b = float(score_fn(table_b.sum(axis=0).tolist()))
    delta = score_b - score_a
    counts = resample_counts(n, resamples, seed)
    sums_a, sums_b = counts @ table_a, counts @ table_b
    resampled = np.array([score_fn(row_b) - score_fn(row_a) for row_a, row_b in zip(sums_a.tolist(),
                                                                                    sums_b.tolist())])
    if delta == 0 and not np.any(resampled):
        p_value = 1.0  # identical on every resample: sacrebleu's formula would say 1 / (R + 1) here
    else:
        spread = np.abs(resampled)
        centred = spread - spread.mean()
        p_value = (int(np.sum(centred > abs(delta))) + 1) / (resamples + 1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return {"score_a": score_a, "score_b": score_b, "delta": delta, "p_value": p_value,
            "ci95": [float(low), float(high)], "n": n, "resamples": resamples, "draws": resampled.tolist()}


def mean_statistics(values: Sequence[float]) -> tuple[list[list[float]], Callable[[list], float]]:
    """Per-sample values as sufficient statistics for ``paired_bootstrap`` of a mean (e.g. SQuAD F1):
    rows ``[value, 1]`` and the score ``sum / count``."""
    return [[float(v), 1.0] for v in values], lambda sums: sums[0] / sums[1]


def cell_draws(kind: str, values: Sequence[float] | None = None, stats: Sequence[Sequence[float]] | None = None,
               score_fn: Callable[[list], float] | None = None, *, resamples: int = BOOTSTRAP_RESAMPLES,
               seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """``resamples`` draws of one (task, language) score, for the interval of a macro average over cells.

    - ``binary`` (``values`` all 0 or 1, s successes of n): draws from Jeffreys' Beta(s + ½, n − s + ½), the
      posterior of the rate under Jeffreys' prior. A bootstrap over items cannot be used here: with every item
      wrong (or every item right) each resample is the same and the interval collapses to a point, [0, 0], when
      the cell's own Wilson interval is, say, [0, 65.8] with n = 2. The Beta draws keep that uncertainty (its
      2.5–97.5 percentiles are the Jeffreys interval, close to Wilson's).
    - ``continuous`` (per-item ``values``): a bootstrap over items, the mean of each resample.
    - ``corpus`` (per-segment ``stats`` and ``score_fn`` of their column sums): a bootstrap over segments, the
      corpus score of each resample (as ``bootstrap``).

    The resampled items are sacrebleu's draws (``resample_counts``) for the given seed.
    """
    if kind == "binary":
        if not values:
            raise ValueError("cell_draws: no values")
        successes, n = float(sum(values)), len(values)
        return np.random.default_rng(seed).beta(successes + 0.5, n - successes + 0.5, size=resamples)
    if kind == "continuous":
        table, score_fn = mean_statistics(values)
    elif kind == "corpus":
        table = stats
    else:
        raise ValueError(f"cell_draws: kind must be binary, continuous or corpus, got {kind!r}")
    return _resampled_scores(_as_table(table, "cell_draws"), score_fn, resamples, seed)


def cell_seed(task: str, lang: str) -> int:
    """The seed of one (task, language) cell's draws for a macro average: stable across processes (crc32, not
    ``hash``), different per cell so that cells are drawn independently of each other; the same for every model."""
    import zlib

    return BOOTSTRAP_SEED + zlib.crc32(f"{task}/{lang}".encode()) % 2**31


def macro_draws(draws: Sequence[Sequence[float]]) -> np.ndarray:
    """The draws of a macro average: the mean over cells of each cell's draws, resample by resample (cells are
    resampled independently of each other)."""
    return np.mean(np.vstack(list(draws)), axis=0)


def percentile_interval(draws: np.ndarray, low: float = 0.0, high: float | None = None) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of ``draws``, clipped to the metric's range [``low``, ``high``]."""
    lo, hi = (float(x) for x in np.percentile(draws, [2.5, 97.5]))
    return max(low, lo), (hi if high is None else min(high, hi))
