"""Metric facts: what a number in a run means, declared once by the family that computes it and written
into every score row of ``results.json``, so a report reads them from the run, never from today's code.

- ``kind``: ``binary`` (each sample scores 0 or 1; the unit's score is the mean, a proportion),
  ``continuous`` (each sample scores a number in [0, scale]; the unit's score is the mean) or ``corpus``
  (the unit's score is computed over all its samples at once, from per-sample sufficient statistics
  stored on every sample record, e.g. chrF++ and BLEU).
- ``scale``: the upper end of the metric's range, 1 (proportions) or 100 (points, as sacrebleu reports);
  the lower end is 0. Reports put every metric on 0-100 by multiplying with ``100 / scale``.
- ``higher_is_better``: the direction of "better" for ranks and verdicts.
- ``primary`` (per task, not per metric): the metric a task is ranked and compared on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

KINDS = ("binary", "continuous", "corpus")
SCALES = (1, 100)
FACTS = ("kind", "scale", "higher_is_better", "primary")  # the fields every v2 score row carries


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str
    scale: int
    higher_is_better: bool = True
    description: str = ""
    lm_eval: str | None = None  # the lm-eval metric that computes the same thing (export), if any
    # corpus metrics: the corpus score from the column sums of the samples' sufficient statistics
    from_statistics: Callable[[Sequence[float]], float] | None = None
    # corpus metrics: sacrebleu-style signature of the metric as configured for a target language
    signature: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric '{self.name}': kind must be one of {', '.join(KINDS)}, got '{self.kind}'")
        if self.scale not in SCALES:
            raise ValueError(f"metric '{self.name}': scale must be 1 or 100, got {self.scale}")
        if (self.kind == "corpus") != (self.from_statistics is not None):
            raise ValueError(f"metric '{self.name}': a corpus metric needs from_statistics, and only a corpus "
                             "metric has it")

    def facts(self, primary: bool) -> dict:
        """The facts a score row carries (``FACTS``)."""
        return {"kind": self.kind, "scale": self.scale, "higher_is_better": self.higher_is_better,
                "primary": primary}


# Computed by execution for every generated answer whose sample names the language it must be in; a task that
# wants it reported declares it among its metrics.
LANG_FIDELITY = Metric("lang_fidelity", "binary", 1, description="the answer is in the language the task asks for "
                       "(the run's language detector)")
