"""Instruction following, IFEval-style, with checkers that judge each language by its own rules
(``harness.tasks.instructions``).

Tasks (a prompt with verifiable instructions; the response is checked, never compared with a reference):

- ``ifeval``: Marco-Bench-MIF (en de fr it pt th, and Spanish: its localized set), IFEval's 541 prompts (en 540)
  translated, every non-English prompt with a ``language:response_language`` instruction; items share IFEval's keys
  across languages. Hindi is IndicIFEval's ``indicifeval-ground`` (hub) once its revision is pinned in the pack
  (the builder reads its schema: flattened kwargs with nulls, ``resp_lang``, ``tags``).
- ``ifeval_es_mt``: Marco-Bench-MIF's machine-translated Spanish set, beside the localized one.
- ``m_ifeval``: M-IFEval (en fr es), whose French and Spanish sets carry their own instructions (accents, the
  informal address, ñ/ü/tilde words, ¿…? and ¡…!) and relations (``al menos``, ``como máximo``).

Decoding: greedy, up to 1,280 new tokens (lm-eval's IFEval budget), no stop sequence; ``<think>`` blocks are removed
before checking.

Metrics, as IFEval defines them (strict: the response as it is; loose: the best of the response without its first
line, last line, both, and without ``*``):

- ``prompt_strict``, ``prompt_loose``: per prompt, 1 when every instruction was followed;
- ``inst_strict``, ``inst_loose``: the share of all instructions followed (over the unit's prompts, micro-averaged);
- ``ifeval`` (primary): the mean of the four, the number Meta reports.

Every record keeps each instruction's verdicts (``details.instructions``), so the leaderboard shows accuracy and
count per instruction type and language: a weak checker or a hard instruction shows as one row, not as a language gap.
A row the data broke (Marco-Bench-MIF's es_local key 2380 and es_mt key 1127 have one kwargs entry more than
instruction ids) is a data error: reported on its record (``details.data_error``), never scored.
"""

from __future__ import annotations

from typing import Mapping

from harness.core.errors import OctoglotError
from harness.core.metrics import Metric
from harness.core.records import Generation, Sample, Scored
from harness.tasks import instructions
from harness.tasks.definition import TaskDef

LITERALS = ("constrained_answers", "double_quotes")
COLUMNS = ("key", "prompt", "instruction_id_list", "kwargs")
GENERATION = Generation(max_new_tokens=1280)
TEMPLATE = "{prompt}"


def _data_error(ids: object, kwargs: object, prompt: str, lang: str, own: Mapping) -> str | None:
    """Why a row cannot be judged (the data's fault: reported, never scored), or None. An instruction no checker
    knows is octoglot's fault: an error that stops the run."""
    if not isinstance(ids, list) or not isinstance(kwargs, list) or len(ids) != len(kwargs):
        return (f"{len(ids) if isinstance(ids, list) else '?'} instruction ids but "
                f"{len(kwargs) if isinstance(kwargs, list) else '?'} kwargs")
    for instruction_id, kw in zip(ids, kwargs):
        try:
            instructions.checker(str(instruction_id), kw, lang=lang, prompt=prompt, literals=own)
        except (KeyError, TypeError, ValueError) as exc:
            return f"{instruction_id}: bad or missing argument {exc}"
    return None


def _build(task: str, rows: list[dict], literals: Mapping, lang: str) -> list[Sample]:
    own = {name: literals[name] for name in LITERALS}
    samples, seen = [], set()
    for number, row in enumerate(rows, 1):
        ids = row["instruction_id_list"]
        kwargs = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in row["kwargs"]] \
            if isinstance(row["kwargs"], list) else row["kwargs"]
        prompt = str(row["prompt"])
        try:
            data_error = _data_error(ids, kwargs, prompt, lang, own)
        except OctoglotError as exc:
            raise OctoglotError(f"{task} ({lang}): row {number}: {exc}") from None
        item = str(row["key"])
        if item in seen:
            raise OctoglotError(f"{task} ({lang}): key {item} occurs twice")
        seen.add(item)
        samples.append(Sample(item, task, lang, TEMPLATE.format(prompt=prompt), target=item,
                              meta={"instructions": [str(i) for i in ids], "kwargs": kwargs, "literals": own,
                                    "data_error": data_error}))
    if not samples:
        raise OctoglotError(f"{task} ({lang}): the data has no prompts")
    return samples


def ifeval_samples(rows: list[dict], literals: Mapping, lang: str, extras: Mapping | None = None) -> list[Sample]:
    return _build("ifeval", rows, literals, lang)


def ifeval_es_mt_samples(rows: list[dict], literals: Mapping, lang: str,
                         extras: Mapping | None = None) -> list[Sample]:
    return _build("ifeval_es_mt", rows, literals, lang)


def m_ifeval_samples(rows: list[dict], literals: Mapping, lang: str, extras: Mapping | None = None) -> list[Sample]:
    return _build("m_ifeval", rows, literals, lang)


def score(sample: Sample, response: str) -> Scored:
    meta = sample.meta
    if meta.get("data_error"):  # never scored: the item is broken in the data
        return Scored({}, details={"data_error": meta["data_error"]})
    checks = [instructions.checker(i, kw, lang=sample.lang, prompt=sample.prompt, literals=meta["literals"])
              for i, kw in zip(meta["instructions"], meta["kwargs"])]
    strict, loose = instructions.judge(checks, response)
    n = len(checks)
    prompt_strict, prompt_loose = float(all(strict)), float(all(loose))
    statistics = {"inst_strict": [sum(strict), n], "inst_loose": [sum(loose), n],
                  "ifeval": [prompt_strict, prompt_loose, sum(strict), sum(loose), n, 1]}
    verdicts = [{"id": i, "strict": s, "loose": lo} for i, s, lo in zip(meta["instructions"], strict, loose)]
    return Scored({"prompt_strict": prompt_strict, "prompt_loose": prompt_loose}, statistics=statistics,
                  details={"instructions": verdicts})


def _share(sums) -> float:
    return sums[0] / sums[1] if sums[1] else 0.0


def _ifeval(sums) -> float:
    prompts, instructions_n = sums[5], sums[4]
    if not prompts or not instructions_n:
        return 0.0
    return (sums[0] / prompts + sums[1] / prompts + sums[2] / instructions_n + sums[3] / instructions_n) / 4


METRICS = (
    Metric("ifeval", "corpus", 1, description="mean of prompt- and instruction-level accuracy, strict and loose "
           "(Meta's IFEval number)", from_statistics=_ifeval),
    Metric("prompt_strict", "binary", 1, description="every instruction of the prompt followed, strictly"),
    Metric("prompt_loose", "binary", 1, description="every instruction followed, loosely (IFEval's variants)"),
    Metric("inst_strict", "corpus", 1, description="share of all instructions followed, strictly",
           from_statistics=_share),
    Metric("inst_loose", "corpus", 1, description="share of all instructions followed, loosely",
           from_statistics=_share),
)

NOT_EXPORTABLE = ("lm-eval's IFEval counts words with \\w+ and sentences with English punkt and detects languages "
                  "unseeded; octoglot's checkers count by language (harness.tasks.instructions)")


def _task(id: str, description: str, build) -> TaskDef:
    return TaskDef(id=id, description=description, kind="generate", build=build, score=score, metrics=METRICS,
                   primary="ifeval", template=TEMPLATE, literals=LITERALS, columns=COLUMNS, parallel=True,
                   generation=lambda sample: GENERATION, not_exportable=NOT_EXPORTABLE)


TASKS = (
    _task("ifeval", "IFEval instruction following (Marco-Bench-MIF; Spanish localized), checked by language",
          ifeval_samples),
    _task("ifeval_es_mt", "IFEval, Marco-Bench-MIF's machine-translated Spanish set", ifeval_es_mt_samples),
    _task("m_ifeval", "M-IFEval (en fr es) with its French and Spanish instructions", m_ifeval_samples),
)
