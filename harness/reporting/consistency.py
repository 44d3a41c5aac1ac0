"""Cross-lingual consistency of one run on parallel tasks: does the model get the same item right in
every language, or only in some?

For a task whose items share ids across languages (the run's units say ``parallel``) and whose primary metric is
0/1 per item (its score rows say ``kind: binary``: sib200, xcopa, belebele, global_mmlu, xnli, mgsm, mgsm_direct):

- ``agree_with_en`` (per language other than English): the share of items, among those scored (no
  error) both in English and in that language, whose correctness is the same in both; ``n`` counts
  those items. Agreement counts "both wrong" too: read it beside the accuracies (two languages at 50%
  with independent errors agree on 50% of items; identical behaviour gives 100%).
- ``solved_in_all`` (per task): the share of items, among those scored in every language of the task
  in the run (``n_all`` of them, over the ``n_langs`` languages ``langs``), answered correctly in all.

Samples with an ``error`` are left out, as everywhere else. A task needs at least two languages.
"""

from __future__ import annotations

import math
from typing import Iterable

import pandas as pd

from harness.core.languages import ordered
from harness.reporting.runs import Run
from harness.scoring.statistics import paired_binary

COLUMNS = ["task", "lang", "agree_with_en", "n", "solved_in_all", "n_all", "n_langs", "langs"]


def eligible(run: Run, task: str) -> bool:
    """Whether the run recorded ``task`` with parallel items and a 0/1 primary metric."""
    primary = run.primary(task)
    return primary is not None and run.parallel(task) and run.facts(task, primary)["kind"] == "binary"


def correctness(run: Run, task: str, lang: str) -> dict[str, bool]:
    """Item id -> answered correctly (the task's primary metric is 1), for samples without an error."""
    metric = run.primary(task)
    out = {}
    for record in run.samples(task, lang):
        if record.get("error") is None and metric in (record.get("metrics") or {}):
            out[str(record["id"])] = record["metrics"][metric] == 1
    return out


def task_rows(run: Run, task: str, langs: Iterable[str]) -> list[dict]:
    """The consistency rows of one task over the given languages of the run (see the module docstring)."""
    langs = ordered(langs)
    if len(langs) < 2:
        return []
    correct = {lang: correctness(run, task, lang) for lang in langs}
    common = set.intersection(*(set(c) for c in correct.values()))
    n_all = len(common)
    solved = sum(all(correct[lang][i] for lang in langs) for i in common) / n_all if n_all else math.nan
    rows = []
    for lang in langs:
        if lang == "en":
            continue
        if "en" in correct:
            shared = correct["en"].keys() & correct[lang].keys()
            agree = sum(correct["en"][i] == correct[lang][i] for i in shared) / len(shared) if shared else math.nan
            n = len(shared)
        else:
            agree, n = math.nan, 0
        rows.append({"task": task, "lang": lang, "agree_with_en": agree, "n": n, "solved_in_all": solved,
                     "n_all": n_all, "n_langs": len(langs), "langs": ",".join(langs)})
    return rows


def table(run: Run, *, tasks: Iterable[str] | None = None, langs: Iterable[str] | None = None) -> pd.DataFrame:
    """Cross-lingual consistency of a run: one row per (task, language other than English) with columns
    ``task, lang, agree_with_en, n, solved_in_all, n_all, n_langs, langs`` (``langs``: the codes, comma-separated).

    ``solved_in_all``, ``n_all``, ``n_langs`` and ``langs`` belong to the task and repeat on each of its rows
    (``frame.groupby("task").first()`` gives one per task). ``agree_with_en`` is NaN (``n`` = 0) when
    the run has no English for the task. Only eligible tasks (``eligible``) with at least two
    languages appear; ``tasks`` and ``langs`` restrict the selection (``langs`` also defines "all").
    """
    wanted_langs = set(langs) if langs is not None else None
    present: dict[str, set[str]] = {}
    for task, lang in run.units:
        if wanted_langs is None or lang in wanted_langs:
            present.setdefault(task, set()).add(lang)
    chosen = list(tasks) if tasks is not None else list(present)
    rows = []
    for task in chosen:
        if task in present and eligible(run, task):
            rows += task_rows(run, task, present[task])
    return pd.DataFrame(rows, columns=COLUMNS)


def vs_english(run: Run, task: str, langs: Iterable[str]) -> list[dict]:
    """Per language other than English: the paired difference from English on the items scored in both (the
    share solved in the language minus in English), with the exact McNemar p-value of that difference and the
    discordant counts (``b``: right in English only, ``c``: right in the language only)."""
    langs = ordered(langs)
    if "en" not in langs or not eligible(run, task):
        return []
    english = correctness(run, task, "en")
    rows = []
    for lang in langs:
        if lang == "en":
            continue
        other = correctness(run, task, lang)
        shared = sorted(english.keys() & other.keys())
        if not shared:
            continue
        test = paired_binary([float(english[i]) for i in shared], [float(other[i]) for i in shared])
        rows.append({"task": task, "lang": lang, "n": test["n"], "en": sum(english[i] for i in shared) / len(shared),
                     "score": sum(other[i] for i in shared) / len(shared), "delta": test["delta"], "b": test["b"],
                     "c": test["c"], "p_value": test["p_value"]})
    return rows
