"""``octoglot compare RUN_A RUN_B``: is one run's model better than the other's, task by task and
language by language, beyond what chance on these items explains?

For every (task, language) both run directories hold, on the task's primary metric as both runs recorded it
(its facts read from the runs: kind, scale, which direction is better):

- like with like first: a cell whose task version, prompt hash, data checksum, item limit, sampling seed,
  generation settings or language detector differ (``runs.mismatch``), or whose primary metric or its facts
  differ, is listed with the reason and not tested; so is one whose items' own prompt hashes or references
  differ, or that has no item both runs scored;
- items are matched by id, on the ids both runs scored without an error; a run's failed samples are
  counted on the cell (``errors_a``, ``errors_b``);
- the test is paired: exact McNemar for ``binary`` metrics, sacrebleu's paired bootstrap over segments for
  ``corpus`` metrics (chrF++, BLEU: the per-segment statistics stored on the records; format 1 runs stored
  none, so they are recomputed from the stored hypotheses and references), the same paired bootstrap on the
  mean for ``continuous`` per-item metrics (SQuAD F1);
- p-values are Holm-corrected over all tested cells of the comparison; the verdict is "A better" or
  "B better" where the corrected p-value is below alpha (0.05), else "no significant difference"; "better"
  follows the metric's direction (lower is better for some);
- every tested cell gets a 95% CI of Δ (``detail["ci95"]``): the percentiles of the paired bootstrap's resampled
  differences; for ``binary`` cells a paired bootstrap of the mean over the matched items (the p-value stays
  McNemar's). Intervals are clipped to the difference's range, [−scale, scale];
- macro averages of Δ (``Comparison.macro``), on a 0–100 scale (0–1 metrics × 100): per task, the mean over its
  compared languages; overall, the mean over tasks of those task means, leaving out tasks whose metric is better
  when lower. Their CI comes from a paired bootstrap over items within each (task, language): every cell is
  resampled on its own (seed ``BOOTSTRAP_SEED + crc32("task/lang")``), the same items for A and B, and each
  resample's cell differences are averaged as the macro average is (``statistics.macro_draws``). It is not a
  normal approximation, so it is as asymmetric as the draws and it is [0, 0] only where no resample differs.

Scores and the difference Δ = B − A are computed on the matched items, so they can differ from the
runs' own ``results.json`` when one run has errors the other has not. Cross-lingual consistency
(``harness.consistency``) of both runs is reported beside, over the languages compared.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from html import escape

import pandas as pd

from harness.core.errors import OctoglotError
from harness.core.languages import ordered
from harness.reporting import consistency, figures
from harness.reporting.markdown import md_table
from harness.reporting.runs import Run, corpus_scorer, load_run, mismatch
from harness.scoring import statistics as stats
from harness.scoring.statistics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

ALPHA = 0.05
VERDICTS = ("A better", "B better", "no significant difference", "not compared")
CELL_HEADER = ["task", "lang", "metric", "n", "errors", "A", "B", "Δ (B − A)", "95% CI of Δ", "test", "p",
               "p (Holm)", "verdict"]
MACRO_HEADER = ["average", "over", "Δ (B − A, points)", "95% CI"]
CI_METHOD = (f"95% CI of Δ: the 2.5th and 97.5th percentiles of the {BOOTSTRAP_RESAMPLES} resampled differences of a "
             "paired bootstrap (the same resampled items for A and B): the test's own resamples for corpus metrics "
             "and means; for 0/1 metrics a paired bootstrap of the mean over the matched items, seeded per cell, "
             "while the p-value stays McNemar's. Every interval is clipped to the difference's range (±1 for 0–1 "
             "metrics, ±100 for 0–100 ones); where no resample differs it is [0, 0].")
MACRO_METHOD = ("Macro averages of Δ in points (0–1 metrics × 100): per task, the mean over its compared "
                "languages; overall, the mean over tasks of those task means (each task weighs the same), leaving "
                "out tasks whose metric is better when lower. 95% CI: a paired bootstrap over items within each "
                f"(task, language), {BOOTSTRAP_RESAMPLES} resamples, each cell resampled independently (seed "
                f"{BOOTSTRAP_SEED} + crc32(\"task/lang\") mod 2³¹) with the same items for A and B; each resample's "
                "cell differences are averaged as the point estimate is, and the 2.5th and 97.5th percentiles of "
                "those averages, clipped to [−100, 100], are the interval (not a normal approximation). An interval, "
                "not a test: the per-cell tests and their Holm correction are above.")


@dataclass(frozen=True)
class Cell:
    """One (task, language) of the comparison. ``test`` is None when it was not compared (``reason``)."""

    task: str
    lang: str
    metric: str | None
    test: str | None = None  # "mcnemar", "paired bootstrap" (corpus metric) or "paired bootstrap (mean)"
    n: int = 0  # matched items
    score_a: float | None = None
    score_b: float | None = None
    delta: float | None = None  # B - A
    p_value: float | None = None
    p_holm: float | None = None
    verdict: str = "not compared"
    reason: str | None = None
    detail: dict = field(default_factory=dict)  # McNemar: b, c; bootstrap: ci95, resamples, signature
    errors_a: int = 0  # samples of the cell that failed with a model error in run A
    errors_b: int = 0
    higher_is_better: bool = True
    scale: float = 1  # the metric's scale as the runs recorded it: 1 (0–1 metrics) or 100 (chrF++, BLEU)
    # the resampled differences B − A for the macro averages (seed per cell: ``cell_seed``); not written out
    draws: list[float] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Macro:
    """A macro average of Δ = B − A in points (0–100 scale): one task's (``task``) over its compared languages,
    or the overall one (``task`` None) over the task averages."""

    task: str | None
    cells: list[str]  # the languages averaged (a task), or the tasks averaged (overall)
    delta: float
    ci95: tuple[float, float]
    higher_is_better: bool = True
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    run_a: Path
    run_b: Path
    model_a: str
    model_b: str
    alpha: float
    cells: list[Cell]
    consistency: pd.DataFrame  # task, lang, agree_with_en_a/_b, n_a/_b; per task: langs, n_langs, solved_in_all_a/_b,
    # n_all_a/_b
    macro: list[Macro] = field(default_factory=list)  # per task, then overall (``_macro``)

    @property
    def tested(self) -> list[Cell]:
        return [c for c in self.cells if c.test is not None]

    def summary(self) -> dict[str, dict[str, int]]:
        """Per language (and ``all``): how many cells got each verdict."""
        out: dict[str, dict[str, int]] = {}
        for lang in ordered({c.lang for c in self.cells}) + ["all"]:
            counts = Counter(c.verdict for c in self.cells if lang in ("all", c.lang))
            out[lang] = {verdict: counts.get(verdict, 0) for verdict in VERDICTS}
        return out

    def to_dict(self) -> dict:
        return {
            "a": {"path": str(self.run_a), "model": self.model_a},
            "b": {"path": str(self.run_b), "model": self.model_b},
            "delta": "B - A",
            "alpha": self.alpha,
            "correction": f"holm over {len(self.tested)} tests",
            "cells": [_clean(_cell_dict(c)) for c in self.cells],
            "ci_method": CI_METHOD,
            "macro": [_clean(asdict(m)) for m in self.macro],
            "macro_method": MACRO_METHOD,
            "summary": self.summary(),
            "consistency": {
                "languages": _clean(self.consistency[_LANG_COLUMNS].to_dict(orient="records")),
                "tasks": _clean(_per_task(self.consistency).to_dict(orient="records")),
            },
        }

    def cell_rows(self) -> list[list[str]]:
        """The comparison table's rows (``CELL_HEADER``), as text."""
        rows = []
        for c in self.cells:
            errors = f"{c.errors_a} / {c.errors_b}"
            if c.test is None:
                rows.append([c.task, c.lang, c.metric or "", "", errors, "", "", "", "", "", "", "",
                             f"not compared: {c.reason}"])
                continue
            better = "" if c.higher_is_better else " (lower is better)"
            low, high = c.detail["ci95"]
            rows.append([c.task, c.lang, f"{c.metric}{better}", str(c.n), errors, _score(c, c.score_a),
                         _score(c, c.score_b), _score(c, c.delta, signed=True),
                         f"[{_score(c, low, True)}, {_score(c, high, True)}]", _test_text(c), _p(c.p_value),
                         _p(c.p_holm), c.verdict])
        return rows

    def macro_rows(self) -> list[list[str]]:
        """The macro averages' rows (``MACRO_HEADER``), as text."""
        return [[m.task if m.task is not None else "overall (mean over tasks)",
                 ", ".join(m.cells) + ("" if m.higher_is_better else " (lower is better)")
                 + (f"; {m.note}" if m.note else ""),
                 f"{m.delta:+.2f}", f"[{m.ci95[0]:+.2f}, {m.ci95[1]:+.2f}]"] for m in self.macro]

    def to_html(self) -> str:
        """A self-contained HTML page: the tables of ``to_markdown`` and the forest plot as inline SVG."""
        return _html_page(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)

    def to_markdown(self) -> str:
        lines = [
            f"# Comparison: A = {_inline(self.model_a)} vs B = {_inline(self.model_b)}",
            "",
            f"- A: `{_inline(str(self.run_a))}`",
            f"- B: `{_inline(str(self.run_b))}`",
            "",
            _tests_text(self),
            "",
        ]
        lines += md_table(CELL_HEADER, self.cell_rows())
        lines += ["", CI_METHOD]
        if self.macro:
            lines += ["", "## Macro averages", ""]
            lines += md_table(MACRO_HEADER, self.macro_rows(), "llrr")
            lines += ["", MACRO_METHOD]
        lines += ["", "## Summary", ""]
        summary = self.summary()
        lines += md_table(["lang", *VERDICTS], [[lang, *(str(counts[v]) for v in VERDICTS)]
                                              for lang, counts in summary.items()])
        lines += ["", _summary_text(self)]
        lines += ["", "## Cross-lingual consistency", ""]
        frame = self.consistency
        if frame.empty:
            lines.append("No parallel task with a 0/1 metric was compared in at least two languages.")
        else:
            lines += [CONSISTENCY, ""]
            lines += md_table(["task", "lang", "agree with en (A)", "agree with en (B)", "n (A)", "n (B)"],
                            [[r.task, r.lang, _share(r.agree_with_en_a), _share(r.agree_with_en_b),
                              str(r.n_a), str(r.n_b)] for r in frame.itertuples()])
            lines.append("")
            lines += md_table(["task", "languages", "solved in all (A)", "solved in all (B)", "n (A)", "n (B)"],
                            [[r.task, r.langs.replace(",", ", "), _share(r.solved_in_all_a), _share(r.solved_in_all_b),
                              str(r.n_all_a), str(r.n_all_b)] for r in _per_task(frame).itertuples()])
        return "\n".join(lines) + "\n"


CONSISTENCY = ("Share of items whose correctness in the language agrees with English (same item id), and share of "
               "items solved in every compared language of the task; descriptive, no test.")


def _tests_text(comparison: Comparison) -> str:
    """The method under the comparison table: what Δ is over, which test, which correction."""
    return ("Δ = B − A on the task's primary metric, over the items both runs scored without an error "
            "(matched by item id; errors: samples that failed with a model error in A / B). "
            "Tests: exact McNemar for 0/1 metrics (b: only A right, c: only B right); "
            "sacrebleu's paired bootstrap over segments for corpus metrics, and over items for the mean of other "
            f"per-item metrics ({BOOTSTRAP_RESAMPLES} resamples). "
            f"p (Holm): Holm-corrected over the {len(comparison.tested)} tests; verdict where p (Holm) < "
            f"{comparison.alpha}.")


def _summary_text(comparison: Comparison) -> str:
    total = comparison.summary()["all"]
    return (f"A better in {total['A better']}, B better in {total['B better']}, no significant difference in "
            f"{total['no significant difference']} of {len(comparison.tested)} compared cells; "
            f"{total['not compared']} not compared.")


_LANG_COLUMNS = ["task", "lang", "agree_with_en_a", "agree_with_en_b", "n_a", "n_b"]
_TASK_COLUMNS = ["task", "langs", "n_langs", "solved_in_all_a", "solved_in_all_b", "n_all_a", "n_all_b"]
_CONSISTENCY_COLUMNS = _LANG_COLUMNS + _TASK_COLUMNS[1:]


def _per_task(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[_TASK_COLUMNS].drop_duplicates("task").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- formatting

def _inline(text: str) -> str:
    return " ".join(text.split())


def _score(cell: Cell, value: float, signed: bool = False) -> str:
    digits = 2 if cell.test == "paired bootstrap" else 4
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _p(value: float) -> str:
    return f"{value:.4g}"


def _share(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _test_text(cell: Cell) -> str:
    if cell.test == "mcnemar":
        return f"McNemar exact (b={cell.detail['b']}, c={cell.detail['c']})"
    return cell.test


def _cell_dict(cell: Cell) -> dict:
    """A cell for JSON: every field but its bootstrap draws."""
    out = asdict(cell)
    del out["draws"]
    return out


def _clean(obj):
    """NaN -> None, numpy scalars -> Python, for strict JSON."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


# ---------------------------------------------------------------------------------------------- HTML page

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"
PAGE_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 .3em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; white-space: nowrap; }
td:last-child { white-space: pre-wrap; }
thead th { background: #f2f2f2; }
td { font-variant-numeric: tabular-nums; }
p.method { font-size: 12px; color: #555; max-width: 70em; margin-bottom: 1.5em; }
svg.figure { max-width: 100%; height: auto; }
"""
FOREST = ("Forest plot: each tested (task, language) cell's Δ = B − A with its 95% CI, in points (0–1 metrics × "
          "100), a line at 0; filled red with * where the Holm-corrected p-value is below alpha; black diamonds: the "
          "macro averages with their bootstrap CIs.")


def _html_table(key: str, header: list[str], rows: list[list[object]]) -> str:
    """A table of text cells, every one escaped."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table id="{escape(key)}"><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>'


def _method(text: str) -> str:
    return f'<p class="method">{escape(text)}</p>'


def _consistency_html(comparison: Comparison) -> str:
    frame = comparison.consistency
    if frame.empty:
        return "<p>No parallel task with a 0/1 metric was compared in at least two languages.</p>"
    languages = _html_table("consistency-languages", ["task", "lang", "agree with en (A)", "agree with en (B)",
                                                      "n (A)", "n (B)"],
                            [[r.task, r.lang, _share(r.agree_with_en_a), _share(r.agree_with_en_b), r.n_a, r.n_b]
                             for r in frame.itertuples()])
    tasks = _html_table("consistency-tasks", ["task", "languages", "solved in all (A)", "solved in all (B)", "n (A)",
                                              "n (B)"],
                        [[r.task, r.langs.replace(",", ", "), _share(r.solved_in_all_a), _share(r.solved_in_all_b),
                          r.n_all_a, r.n_all_b] for r in _per_task(frame).itertuples()])
    return languages + "\n" + tasks + _method(CONSISTENCY)


def _html_page(comparison: Comparison) -> str:
    """``Comparison.to_html``: inline CSS, no script, no request (the CSP says so to the browser); every string read
    from the runs escaped, the forest plot inline as SVG (its text escaped by matplotlib's SVG writer)."""
    c = comparison
    title = f"Comparison: A = {_inline(c.model_a)} vs B = {_inline(c.model_b)}"
    summary = c.summary()
    macro = (f"<h2>Macro averages</h2>\n{_html_table('macro', MACRO_HEADER, c.macro_rows())}\n"
             f"{_method(MACRO_METHOD)}" if c.macro else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{PAGE_CSP}">
<title>{escape(title)}</title>
<style>{PAGE_CSS}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<ul><li>A: <code>{escape(str(c.run_a))}</code></li><li>B: <code>{escape(str(c.run_b))}</code></li></ul>
<h2>Cells</h2>
{_html_table("cells", CELL_HEADER, c.cell_rows())}
{_method(_tests_text(c))}
{_method(CI_METHOD)}
{macro}
<h2>Forest plot</h2>
{figures.svg(figures.forest(c), prefix="forest-")}
{_method(FOREST)}
<h2>Summary</h2>
{_html_table("summary", ["lang", *VERDICTS], [[lang, *(n[v] for v in VERDICTS)] for lang, n in summary.items()])}
{_method(_summary_text(c))}
<h2>Cross-lingual consistency</h2>
{_consistency_html(c)}
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------- comparing

def _scored(run: Run, task: str, lang: str, metric: str | None) -> dict[str, dict]:
    """Item id -> sample record, for records without an error (and with ``metric`` when given)."""
    out: dict[str, dict] = {}
    for record in run.samples(task, lang):
        if record.get("error") is not None:
            continue
        if metric is not None and metric not in (record.get("metrics") or {}):
            continue
        key = str(record["id"])
        if key in out:
            raise OctoglotError(f"run folder {run.path}: samples/{lang}/{task}.jsonl: item id '{key}' appears twice")
        out[key] = record
    return out


def _format_1_statistics(run: Run, task: str, lang: str, metric: str, records: list[dict]) -> list[list[float]]:
    """Format 1 stored no per-segment statistics: sacrebleu's, recomputed from the stored hypotheses and references
    (the translation family was the only one with corpus metrics then)."""
    from harness.tasks.families.translation import clean_hypothesis, make_metric, segment_statistics

    hypotheses = [str(r["extracted"]) if r.get("extracted") is not None else clean_hypothesis(r.get("response") or "")
                  for r in records]
    references = [str(r["target"]) for r in records]
    return segment_statistics(hypotheses, references, make_metric(metric, run.target_lang(task, lang)))


def _format_1_signature(run: Run, task: str, lang: str, metric: str) -> str | None:
    if run.version != 1:
        return None
    from harness.tasks.families.translation import signature

    return signature(metric, run.target_lang(task, lang))


def _statistics(run: Run, task: str, lang: str, metric: str, records: list[dict]) -> list[list[float]]:
    if run.version == 1:
        return _format_1_statistics(run, task, lang, metric, records)
    missing = next((r["id"] for r in records if metric not in (r.get("statistics") or {})), None)
    if missing is not None:
        raise OctoglotError(f"run folder {run.path}: samples/{lang}/{task}.jsonl: item {missing} has no {metric} "
                            "statistics")
    return [r["statistics"][metric] for r in records]


def _compare_cell(a: Run, b: Run, task: str, lang: str, resamples: int, seed: int) -> Cell:
    metric = a.primary(task)
    errors = {"errors_a": a.n_errors(task, lang), "errors_b": b.n_errors(task, lang)}
    if metric is None or b.primary(task) is None:
        return Cell(task, lang, metric or b.primary(task), reason="no primary-metric score in both runs", **errors)
    facts = a.facts(task, metric)
    if b.primary(task) != metric or b.facts(task, metric) != facts:
        return Cell(task, lang, metric, reason=f"primary metric or its facts differ ({metric} {facts} vs "
                                               f"{b.primary(task)} {b.facts(task, b.primary(task))})", **errors)
    errors.update(higher_is_better=facts["higher_is_better"], scale=facts["scale"])
    reason = mismatch(a, b, task, lang)
    if reason is not None:
        return Cell(task, lang, metric, reason=reason, **errors)
    corpus = facts["kind"] == "corpus"
    per_item = None if corpus else metric
    recs_a, recs_b = _scored(a, task, lang, per_item), _scored(b, task, lang, per_item)
    ids = [i for i in recs_a if i in recs_b]
    if not ids:
        return Cell(task, lang, metric, reason="no item scored without an error in both runs", **errors)
    differing = [i for i in ids if recs_a[i].get("prompt_hash") != recs_b[i].get("prompt_hash")]
    if differing:
        return Cell(task, lang, metric, reason=f"item prompt hash differs for {len(differing)} item(s) "
                                               f"(first: id '{differing[0]}')", **errors)
    if corpus:
        differing = [i for i in ids if str(recs_b[i]["target"]) != str(recs_a[i]["target"])]
        if differing:
            return Cell(task, lang, metric, reason=f"reference differs for {len(differing)} item(s) "
                                                   f"(first: id '{differing[0]}')", **errors)
        score_fn = corpus_scorer(task, metric)
        if score_fn is None:
            return Cell(task, lang, metric, reason=f"corpus metric {metric} of a task no installed family declares "
                                                   "(name its module in $OCTOGLOT_FAMILIES)", **errors)
        stats_a = _statistics(a, task, lang, metric, [recs_a[i] for i in ids])
        stats_b = _statistics(b, task, lang, metric, [recs_b[i] for i in ids])
        result = stats.paired_bootstrap(stats_a, stats_b, score_fn, resamples=resamples, seed=seed)
        draws = stats.paired_bootstrap(stats_a, stats_b, score_fn, resamples=resamples,
                                       seed=stats.cell_seed(task, lang))
        signature = next((s.get("signature") for s in a.scores if s["task"] == task and s["lang"] == lang
                          and s["metric"] == metric), None) or _format_1_signature(a, task, lang, metric)
        return Cell(task, lang, metric, "paired bootstrap", len(ids), result["score_a"], result["score_b"],
                    result["delta"], result["p_value"], draws=draws["draws"],
                    detail={"ci95": _clip(result["ci95"], facts["scale"]), "resamples": resamples, "seed": seed,
                            "signature": signature}, **errors)
    values_a = [recs_a[i]["metrics"][metric] for i in ids]
    values_b = [recs_b[i]["metrics"][metric] for i in ids]
    score_a, score_b = sum(values_a) / len(ids), sum(values_b) / len(ids)
    if facts["kind"] == "binary":
        for run, values in ((a, values_a), (b, values_b)):
            odd = next((v for v in values if v not in (0, 1)), None)
            if odd is not None:
                raise OctoglotError(f"run folder {run.path}: samples/{lang}/{task}.jsonl: {metric} must be 0 or 1, "
                                    f"got {odd}")
        result = stats.paired_binary(values_a, values_b)
        draws = _mean_bootstrap(values_a, values_b, resamples, stats.cell_seed(task, lang))
        return Cell(task, lang, metric, "mcnemar", len(ids), score_a, score_b, score_b - score_a, result["p_value"],
                    draws=draws["draws"], detail={"b": result["b"], "c": result["c"],
                                                  "ci95": _clip(draws["ci95"], facts["scale"]),
                                                  "ci": "paired bootstrap of the mean", "resamples": resamples,
                                                  "seed": stats.cell_seed(task, lang)}, **errors)
    result = _mean_bootstrap(values_a, values_b, resamples, seed)
    draws = _mean_bootstrap(values_a, values_b, resamples, stats.cell_seed(task, lang))
    return Cell(task, lang, metric, "paired bootstrap (mean)", len(ids), score_a, score_b, score_b - score_a,
                result["p_value"], draws=draws["draws"],
                detail={"ci95": _clip(result["ci95"], facts["scale"]), "resamples": resamples, "seed": seed}, **errors)


def _mean_bootstrap(values_a: list[float], values_b: list[float], resamples: int, seed: int) -> dict:
    """``statistics.paired_bootstrap`` of the mean over matched items (A's and B's values of item i side by side)."""
    table, score_fn = stats.mean_statistics(values_a)
    return stats.paired_bootstrap(table, stats.mean_statistics(values_b)[0], score_fn, resamples=resamples, seed=seed)


def _clip(interval: list[float], scale: float) -> list[float]:
    """An interval of a difference of two scores in [0, ``scale``], clipped to [−scale, scale]."""
    return [max(-scale, float(interval[0])), min(scale, float(interval[1]))]


def _macro(cells: list[Cell]) -> list[Macro]:
    """Per task, the mean over its tested languages of Δ in points, then the mean over tasks of those (tasks better
    when lower left out); CIs from the cells' draws averaged resample by resample (see the module docstring)."""
    tasks: dict[str, list[Cell]] = {}
    for cell in cells:
        if cell.test is not None:
            tasks.setdefault(cell.task, []).append(cell)
    out, kept = [], {}
    for task, group in tasks.items():
        draws = stats.macro_draws([[v * 100.0 / c.scale for v in c.draws] for c in group])
        delta = sum(c.delta * 100.0 / c.scale for c in group) / len(group)
        higher = all(c.higher_is_better for c in group)
        out.append(Macro(task, [c.lang for c in group], delta, stats.percentile_interval(draws, -100.0, 100.0),
                         higher))
        if higher:
            kept[task] = (delta, draws)
    if kept:
        left_out = [m.task for m in out if not m.higher_is_better]
        note = f"left out (lower is better): {', '.join(left_out)}" if left_out else ""
        draws = stats.macro_draws([d for _, d in kept.values()])
        out.append(Macro(None, list(kept), sum(d for d, _ in kept.values()) / len(kept),
                         stats.percentile_interval(draws, -100.0, 100.0), note=note))
    return out


def _consistency(a: Run, b: Run, cells: list[Cell]) -> pd.DataFrame:
    """Both runs' consistency, per task over the languages compared for it (so "all" means the same)."""
    compared: dict[str, set[str]] = {}
    for cell in cells:
        if cell.test is not None and consistency.eligible(a, cell.task) and consistency.eligible(b, cell.task):
            compared.setdefault(cell.task, set()).add(cell.lang)
    frames = []
    for task, langs in compared.items():
        if len(langs) < 2:
            continue
        ta = consistency.table(a, tasks=[task], langs=langs)
        tb = consistency.table(b, tasks=[task], langs=langs)
        frames.append(ta.merge(tb, on=["task", "lang", "n_langs", "langs"], suffixes=("_a", "_b")))
    if not frames:
        return pd.DataFrame(columns=_CONSISTENCY_COLUMNS)
    return pd.concat(frames, ignore_index=True)[_CONSISTENCY_COLUMNS]


def compare(run_a: Path, run_b: Path, *, alpha: float = ALPHA, resamples: int = BOOTSTRAP_RESAMPLES,
            seed: int = BOOTSTRAP_SEED) -> Comparison:
    """Compare two run directories cell by cell (see the module docstring). Raises ``OctoglotError``
    when they share no comparable (task, language) cell."""
    a, b = load_run(run_a), load_run(run_b)
    task_order = list(dict.fromkeys([*a.tasks(), *b.tasks()]))
    lang_order = ordered({lang for _, lang in a.units} | {lang for _, lang in b.units})
    shared = sorted(a.units.keys() & b.units.keys(), key=lambda cell: (task_order.index(cell[0]),
                                                                        lang_order.index(cell[1])))
    cells = [_compare_cell(a, b, task, lang, resamples, seed) for task, lang in shared]
    tested = [c for c in cells if c.test is not None]
    if not tested:
        why = ("share no (task, language)" if not shared else
               f"share {len(shared)} (task, language) cell(s) but none is comparable "
               f"({cells[0].task}/{cells[0].lang}: {cells[0].reason})")
        raise OctoglotError(f"compare: run folders {a.path} and {b.path} {why}")
    adjusted = iter(stats.holm([c.p_value for c in tested]))
    final = []
    for c in cells:
        if c.test is None:
            final.append(c)
            continue
        p_holm = next(adjusted)
        b_higher = c.delta > 0
        verdict = ("no significant difference" if not p_holm < alpha or c.delta == 0 else
                   "B better" if b_higher == c.higher_is_better else "A better")
        final.append(replace(c, p_holm=p_holm, verdict=verdict))
    return Comparison(a.path, b.path, a.model, b.model, alpha, final, _consistency(a, b, final), _macro(final))


# ---------------------------------------------------------------------------------------------- command line

def main(args: argparse.Namespace) -> int:
    """``octoglot compare``: the comparison in ``--format`` (md, json, html) on stdout; with ``--png FILE`` the
    forest plot as a PNG file too."""
    comparison = compare(Path(args.run_a), Path(args.run_b), alpha=getattr(args, "alpha", ALPHA))
    writers = {"json": lambda: comparison.to_json() + "\n", "html": comparison.to_html}
    sys.stdout.write(writers.get(args.format, comparison.to_markdown)())
    if getattr(args, "png", None) is not None:
        figures.png(figures.forest(comparison), args.png)
        print(f"wrote {args.png}", file=sys.stderr)
    return 0
