"""What a task family declares: its tasks, each with the prompt it writes, the pack literals it needs, the data
columns it reads, how it is decoded and how it is scored, and its metrics with their facts.

A family is one module in ``harness/tasks/families/`` (or a module named in ``$OCTOGLOT_FAMILIES``) with a
``TASKS`` tuple of ``TaskDef``; ``harness.tasks.registry`` collects them. Nothing else in the code base lists a
family's task ids, metric names or literal names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from harness.core.metrics import Metric
from harness.core.programs import Program
from harness.core.records import Generation, Sample, Scored

KINDS = ("loglikelihood", "generate")

# (rows, literals, lang, extras) -> samples: rows of the task's data file, the pack literals the task declared
# (English ones under "english" when it declared english_literals), the language code, and the rows of the
# pack entry's extra files by role; a sized task's builder also takes a ``Sizing``
Builder = Callable[..., list[Sample]]


@dataclass(frozen=True)
class LmEvalForm:
    """How ``octoglot export lm-eval`` writes a generation task as an lm-eval task (log-likelihood tasks need
    only their metrics' ``lm_eval`` names). ``scoring(lang, samples)`` returns lm-eval's ``filter`` pipeline,
    its ``metric_list`` (the first is the group's) and the metrics left out as (metric, reason)."""

    scoring: Callable[[str, list[Sample]], tuple[list[dict], list[dict], list[tuple[str, str]]]] | None = None
    differences: tuple[str, ...] = ()  # what still differs from ``octoglot run`` (the export README)


@dataclass(frozen=True)
class TaskDef:
    id: str
    description: str
    kind: str  # "loglikelihood" (options scored) or "generate" (a response generated, then scored)
    build: Builder
    # (sample, log-likelihoods | response | Attempt) -> Scored; an Attempt (response, program, execution) for tasks
    # whose responses are programs (``execute``)
    score: Callable[[Sample, object], Scored]
    metrics: tuple[Metric, ...]
    primary: str  # the metric the task is ranked and compared on
    template: str = ""  # the prompt template, hashed into the prompt hash
    literals: tuple[str, ...] = ()  # pack literals of the language the task needs
    english_literals: tuple[str, ...] = ()  # literals it also needs in English (answer-word fallbacks)
    # literals passed when the language's pack has them (data a language lacks upstream, written in its pack)
    optional_literals: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # columns every data row must have
    parallel: bool = False  # items share ids across languages (cross-lingual consistency applies)
    generation: Callable[[Sample], Generation] | None = None  # generate tasks: how each sample is decoded
    lm_eval: LmEvalForm | None = None
    not_exportable: str | None = None  # why lm-eval cannot express the task
    # responses that are programs: the program to run in the sandbox (None: a data error, never run)
    execute: Callable[[Sample, str], Program | None] | None = None
    # --samples N: the Scored of a sample's N responses as one (None: the task takes one response per sample)
    combine: Callable[[Sample, list[Scored]], Scored] | None = None
    # the metrics of a run with N responses per sample (None: ``metrics``, whatever N)
    metrics_for: Callable[[int], tuple[Metric, ...]] | None = None
    # prompts sized in the model's own tokens (long context): the default lengths; ``build`` then takes a fifth
    # argument, a ``harness.core.tokens.Sizing`` (the model's tokenizer, the lengths within its window, the seed and
    # the items per length), and chooses its items itself
    sized: tuple[int, ...] | None = None
    # tool calling: what a chat model is sent, (messages, tools) for a sample and a mode: "api" or "template" (the
    # tools go natively: a chat API's ``tools`` field, a chat template that takes ``tools``) or "prompt" (the tools
    # described in the messages); None: one user message, ``Sample.message``
    messages: Callable[[Sample, str], tuple[list[dict], list[dict] | None]] | None = None
    # --limit N takes N items per group (BFCL: per category); None: N items of the whole unit
    limit_per: Callable[[Sample], str] | None = None
    family: str = field(default="", compare=False)  # the declaring module, set by the registry

    def __post_init__(self) -> None:
        names = [m.name for m in self.metrics]
        if self.kind not in KINDS:
            raise ValueError(f"task '{self.id}': kind must be one of {', '.join(KINDS)}, got '{self.kind}'")
        if len(set(names)) != len(names):
            raise ValueError(f"task '{self.id}': a metric is declared twice ({', '.join(names)})")
        if self.primary not in names:
            raise ValueError(f"task '{self.id}': primary metric '{self.primary}' is not among its metrics "
                             f"({', '.join(names)})")
        if (self.kind == "generate") != (self.generation is not None):
            raise ValueError(f"task '{self.id}': a generate task needs generation settings, and only one has them")

    def metric(self, name: str) -> Metric:
        return next(m for m in self.metrics if m.name == name)

    def run_metrics(self, draws: int = 1) -> tuple[Metric, ...]:
        """The metrics of a run with ``draws`` responses per sample (their facts go into results.json)."""
        return self.metrics_for(draws) if self.metrics_for else self.metrics
