"""``octoglot leaderboard``: comparison tables from stored run directories (no model).

What goes into a table
- Each task's primary metric (``TASKS[task].primary``), on a 0–100 scale: accuracy-type metrics (acc, exact_match,
  f1, lpr) × 100; chrF++ and BLEU as sacrebleu reports them.
- A cell: the score, its 95% CI (the row's ``ci95`` when stored, else value ± 1.96 · stderr) and its rank among the
  models in that column (1 = best; ties share the lower rank: 1, 1, 3; values are compared at 9 decimals).
  Normal intervals are clipped to [0, 100], the range of every primary metric.
- Like with like: in each (task, language) the reference setting is the comparable key (``runs.comparable_key``:
  task version, prompt hash, data checksum/revision, item limit, seed) that most runs share (a tie goes to the run
  listed first). A cell with another key is marked † with the reason (``runs.mismatch``), shown, never ranked and
  left out of every average.
- Averages are macro averages: per task, the mean over its languages; overall, the mean over tasks of those task
  means (each task weighs the same, each language weighs the same within a task). Their CI is normal:
  mean ± 1.96 · sqrt(Σ se_i²) / k, treating the k averaged scores as independent estimates. An average over fewer
  cells than other models have (a cell missing or †) is marked ‡, shown and never ranked.
- One model label with several item limits: the runs are kept as separate rows, labelled ``model [limit N]``, and
  like-with-like marking then applies between those rows as between models. The same row label scoring the same
  (task, language) in two run folders is refused with an error naming both folders.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import OctoglotError
from harness.languages import ALL_CODES, LANGUAGES
from harness.runs import Run, comparable_key, load_run, mismatch
from harness.scoring import Z95
from harness.tasks import TASKS

if TYPE_CHECKING:
    import pandas as pd

MISMATCH, PARTIAL, MISSING = "†", "‡", "–"
POINTS_METRICS = {"chrf++", "chrf", "bleu"}  # already on 0–100; every other primary metric is a proportion
SCALE = ("All scores on a 0–100 scale: accuracy-type metrics (acc, exact_match, f1, lpr) × 100; "
         "chrF++ and BLEU as sacrebleu reports them.")
CELL = ("Each cell: score [95% CI] #rank among the models in its column (1 = best; ties share a rank).")
AVERAGE_CI = ("CI of an average of k scores: mean ± 1.96·√(Σ se_i²)/k, treating the scores as independent "
              "(normal approximation).")
LEGEND = [
    f"{MISMATCH} not comparable with the reference setting of its (task, language): shown, not ranked, "
    "left out of every average (reasons below).",
    f"{PARTIAL} an average over fewer cells than other models have (a cell missing or {MISMATCH}): "
    "shown, not ranked.",
    f"{MISSING} no score.",
]
COLUMNS = ["model", "column", "value", "stderr", "ci_low", "ci_high", "n", "rank", "mark", "note"]


@dataclass
class Table:
    key: str  # "overall", "languages", "task:<id>", "lang:<code>"
    title: str
    caption: str
    cells: pd.DataFrame  # long format, COLUMNS
    models: list[str]  # row order
    columns: list[str]  # column order

    def values(self) -> pd.DataFrame:
        """Model × column of the numeric scores (NaN where there is none)."""
        wide = self.cells.pivot(index="model", columns="column", values="value")
        return wide.reindex(index=self.models, columns=self.columns).rename_axis(index="model", columns=None)

    def display(self) -> pd.DataFrame:
        """Model × column of formatted cells: ``45.0 [40.1, 49.9] #1``, a mark instead of the rank, or –."""
        text = self.cells.assign(text=self.cells.apply(format_cell, axis=1))
        wide = text.pivot(index="model", columns="column", values="text")
        wide = wide.reindex(index=self.models, columns=self.columns).fillna(MISSING)
        return wide.rename_axis(index="model", columns=None)


@dataclass
class Leaderboard:
    overall: Table  # model × task means over languages, plus the overall mean over tasks
    languages: Table  # model × language means over tasks (the heatmap)
    by_task: dict[str, Table]  # model × language of the task's primary metric, plus the mean
    by_lang: dict[str, Table]  # model × task at one language, plus the mean over tasks
    notes: list[str]  # legend, then one line per † cell
    runs: pd.DataFrame  # model (row label), folder, limit, created, args (the model's, credentials redacted)

    def tables(self) -> list[Table]:
        return [self.overall, self.languages, *self.by_task.values(), *self.by_lang.values()]


def format_cell(row) -> str:
    core = f"{row.value:.1f}"
    if not (math.isnan(row.ci_low) or math.isnan(row.ci_high)):
        core += f" [{row.ci_low:.1f}, {row.ci_high:.1f}]"
    return f"{core} #{int(row['rank'])}" if row["rank"] == row["rank"] else f"{core} {row.mark}"


# ---------------------------------------------------------------- reading runs


def _limit_text(limit) -> str:
    if isinstance(limit, dict):
        return "limit " + ", ".join(f"{t}={'all' if v is None else v}" for t, v in sorted(limit.items()))
    return "no limit" if limit is None else f"limit {limit}"


def row_labels(runs: list[Run]) -> list[str]:
    """The model label of each run, with ``[limit …]`` added where one model was run with several limits."""
    limits: dict[str, set[str]] = {}
    for run in runs:
        limits.setdefault(run.model, set()).add(_limit_text(run.manifest.get("limit")))
    return [f"{run.model} [{_limit_text(run.manifest.get('limit'))}]" if len(limits[run.model]) > 1 else run.model
            for run in runs]


def _score_rows(runs: list[Run], labels: list[str]) -> list[dict]:
    rows, seen = [], {}
    for index, (run, label) in enumerate(zip(runs, labels, strict=True)):
        for score in run.scores:
            task = TASKS.get(score["task"])
            if task is None:
                raise OctoglotError(f"run folder {run.path}: results.json: unknown task '{score['task']}' "
                                    f"(written by a newer octoglot?)")
            if score["metric"] != task.primary or score.get("value") is None:
                continue
            where = (label, task.id, score["lang"])
            if where in seen:
                raise OctoglotError(f"run folders {runs[seen[where]].path} and {run.path} both score {label} on "
                                    f"{task.id}/{score['lang']} with the same limit: pass only one of them")
            seen[where] = index
            factor = 1.0 if task.primary in POINTS_METRICS else 100.0
            value = score["value"] * factor
            stderr = score["stderr"] * factor if score.get("stderr") is not None else math.nan
            if score.get("ci95"):
                low, high = (bound * factor for bound in score["ci95"])
            else:
                low, high = value - Z95 * stderr, value + Z95 * stderr
            rows.append({"model": label, "task": task.id, "lang": score["lang"], "value": value, "stderr": stderr,
                         "ci_low": low, "ci_high": high, "n": score.get("n"), "run": index, "mark": "", "note": ""})
    return rows


def _mark_mismatches(cells: pd.DataFrame, runs: list[Run]) -> list[str]:
    """Mark † every cell whose comparable key differs from the one most runs share; one note per cell."""
    notes = []
    for (task, lang), group in cells.groupby(["task", "lang"], sort=False):
        keys = [comparable_key(runs[r], task, lang) for r in group["run"]]
        shared = [sum(key == other for other in keys) for key in keys]
        reference = runs[group["run"].iloc[shared.index(max(shared))]]  # a tie goes to the run listed first
        for index, run_index in zip(group.index, group["run"], strict=True):
            reason = mismatch(reference, runs[run_index], task, lang)
            if reason:
                note = f"{reason} vs the reference run {reference.path.name}"
                cells.loc[index, ["mark", "note"]] = [MISMATCH, note]
                notes.append(f"{MISMATCH} {cells.loc[index, 'model']}, {task}/{lang} "
                             f"(run {runs[run_index].path.name}): {note}")
    return notes


# ---------------------------------------------------------------- averages and ranks


def backend_notes(runs: list[Run], labels: list[str]) -> list[str]:
    """One note per run whose backend failed or disagreed with its reference (``octoglot check-backend``)."""
    from harness.backend_check import flag

    return [f"⚠ {label} (run {run.path.name}): {line}" for run, label in zip(runs, labels)
            if (line := flag(run.manifest.get("backend_check")))]


def _mean(frame: pd.DataFrame, by: str, over: str, noun: str) -> pd.DataFrame:
    """Per (model, ``by``): the mean over ``over`` with CI √(Σ se²)/k; ‡ where the model lacks an ``over`` value that
    another model has, or where an averaged score is itself ‡. ``frame`` holds no † rows."""
    import pandas as pd

    expected = frame.groupby(by)[over].agg(set)
    rows = []
    for (model, key), group in frame.groupby(["model", by], sort=False):
        k = len(group)
        value = group["value"].mean()
        se = math.sqrt(group["stderr"].pow(2).sum(skipna=False)) / k
        missing = sorted(expected[key] - set(group[over]))
        inherited = sorted(group.loc[group["mark"] != "", over])
        note = ""
        if missing or inherited:
            note = f"mean over {k} of {len(expected[key])} {noun}"
            note += f"; missing or not comparable: {', '.join(missing)}" if missing else ""
            note += f"; partial averages included: {', '.join(inherited)}" if inherited else ""
        rows.append({"model": model, by: key, "value": value, "stderr": se, "ci_low": value - Z95 * se,
                     "ci_high": value + Z95 * se, "n": group["n"].sum(min_count=k),
                     "mark": PARTIAL if note else "", "note": note})
    return pd.DataFrame(rows, columns=["model", by, "value", "stderr", "ci_low", "ci_high", "n", "mark", "note"])


def _rank(long: pd.DataFrame) -> pd.DataFrame:
    """Rank within each column among unmarked cells: 1 = best, ties share the lower rank."""
    ok = long["mark"] == ""
    ranks = long.loc[ok, "value"].round(9).groupby(long.loc[ok, "column"]).rank(ascending=False, method="min")
    return long.assign(rank=ranks.reindex(long.index))


def _table(key: str, title: str, caption: str, parts: list[pd.DataFrame], column: list[str], models: list[str],
           columns: list[str]) -> Table:
    import pandas as pd

    pieces = [part.assign(column=part[name]) for part, name in zip(parts, column, strict=True) if not part.empty]
    long = pd.concat(pieces, ignore_index=True)
    long = _rank(long)[COLUMNS]
    long[["ci_low", "ci_high"]] = long[["ci_low", "ci_high"]].clip(0, 100)  # every primary metric lies in [0, 100]
    present = set(long["column"])
    return Table(key, title, caption, long, models, [c for c in columns if c in present])


def _ordered_langs(codes) -> list[str]:
    return [c for c in ALL_CODES if c in set(codes)] + sorted(set(codes) - set(ALL_CODES))


def _ordered_tasks(ids) -> list[str]:
    return [t for t in TASKS if t in set(ids)]


# ---------------------------------------------------------------- build


def build(run_dirs: list[Path]) -> Leaderboard:
    """Read the run folders and compute every table; writes nothing."""
    import pandas as pd

    if not run_dirs:
        raise OctoglotError("leaderboard: give at least one run folder")
    runs = [load_run(path) for path in run_dirs]
    labels = row_labels(runs)
    cells = pd.DataFrame(_score_rows(runs, labels))
    if cells.empty:
        raise OctoglotError(f"leaderboard: no primary-metric scores in {', '.join(str(p) for p in run_dirs)}")
    notes = _mark_mismatches(cells, runs) + backend_notes(runs, labels)
    comparable = cells[cells["mark"] == ""]
    task_means = _mean(comparable, "task", "lang", "languages")
    lang_means = _mean(comparable, "lang", "task", "tasks")
    overall = _mean(task_means.assign(all="overall"), "all", "task", "tasks")

    ranked = overall.assign(unranked=overall["mark"] != "").sort_values(["unranked", "value"],
                                                                         ascending=[True, False])
    models = list(dict.fromkeys([*ranked["model"], *labels]))
    langs, tasks = _ordered_langs(cells["lang"]), _ordered_tasks(cells["task"])
    average = (f"Macro average: per task, the mean over its languages; overall = the mean over tasks of those task "
               f"means (each task weighs the same). {CELL} {AVERAGE_CI}")
    board_overall = _table("overall", "Overall: macro average over languages per task, then over tasks", average,
                           [task_means, overall], ["task", "all"], models, [*tasks, "overall"])
    board_langs = _table("languages", "Per language: mean over tasks",
                         f"Mean over tasks of each task's primary metric, per language. {CELL}",
                         [lang_means], ["lang"], models, langs)
    by_task = {}
    for task in tasks:
        primary = TASKS[task].primary
        by_task[task] = _table(
            f"task:{task}", f"{task}: {primary} by language",
            f"{task} ({primary}) by model and language; mean = macro average over languages. {CELL}",
            [cells[cells["task"] == task], task_means[task_means["task"] == task].assign(mean="mean")],
            ["lang", "mean"], models, [*langs, "mean"])
    by_lang = {}
    for lang in langs:
        name = LANGUAGES[lang].english_name if lang in LANGUAGES else lang
        by_lang[lang] = _table(
            f"lang:{lang}", f"{name} ({lang}): primary metric by task",
            f"{name}: each task's primary metric by model; mean = mean over tasks. {CELL}",
            [cells[cells["lang"] == lang], lang_means[lang_means["lang"] == lang].assign(mean="mean")],
            ["task", "mean"], models, [*tasks, "mean"])
    run_table = pd.DataFrame({"model": labels, "folder": [str(r.path) for r in runs],
                              "limit": [_limit_text(r.manifest.get("limit")) for r in runs],
                              "created": [r.manifest.get("created", "") for r in runs],
                              "args": [json.dumps(r.manifest.get("model", {}).get("args", {}), ensure_ascii=False)
                                       for r in runs]})
    return Leaderboard(board_overall, board_langs, by_task, by_lang, [*LEGEND, *notes], run_table)


# ---------------------------------------------------------------- writing


def md_escape(text: object) -> str:
    """Text for one Markdown table cell: HTML specials, backslash and ``|`` escaped, newlines as ``<br>``."""
    import html

    out = html.escape(str(text), quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def markdown_table(table: Table) -> str:
    shown = table.display()
    lines = [f"### {md_escape(table.title)}", "", md_escape(table.caption), "",
             "| model | " + " | ".join(md_escape(c) for c in shown.columns) + " |",
             "|:---|" + "---:|" * len(shown.columns)]
    for model, row in shown.iterrows():
        lines.append("| " + " | ".join(md_escape(v) for v in [model, *row]) + " |")
    return "\n".join(lines) + "\n"


def markdown(board: Leaderboard) -> str:
    parts = ["# octoglot leaderboard", "", md_escape(f"{SCALE} {AVERAGE_CI}"), ""]
    parts += [markdown_table(t) for t in board.tables()]
    parts += ["## Notes", "", *(f"- {md_escape(n)}" for n in board.notes), "", "## Runs", "",
              "| " + " | ".join(board.runs.columns) + " |", "|" + ":---|" * len(board.runs.columns)]
    parts += ["| " + " | ".join(md_escape(v) for v in row) + " |" for row in board.runs.itertuples(index=False)]
    return "\n".join(parts) + "\n"


def latex_escape(text: object) -> str:
    """For captions and notes (pandas escapes the table body itself)."""
    special = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
               "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(special.get(ch, ch) for ch in one_line(text))


def one_line(text: object) -> str:
    return " ".join(str(text).splitlines())


def latex(board: Leaderboard) -> str:
    """Table environments to \\input; they use booktabs rules and Unicode (†, ‡, –, ±, model names)."""
    parts = ["% octoglot leaderboard: needs \\usepackage{booktabs}; Unicode text: compile with lualatex or xelatex"]
    for table in board.tables():
        shown = table.display()
        shown.index = [one_line(m) for m in shown.index]
        shown.index.name = "model"
        parts.append(shown.to_latex(escape=True, caption=latex_escape(f"{table.title}. {table.caption}"),
                                    label=f"tab:{table.key.replace(':', '-')}",
                                    column_format="l" + "r" * len(shown.columns)))
    items = [f"{SCALE} {AVERAGE_CI}", *board.notes]
    parts.append("\\begin{itemize}\n" + "".join(f"\\item {latex_escape(n)}\n" for n in items) + "\\end{itemize}")
    return "\n".join(parts)


def long_frame(board: Leaderboard) -> pd.DataFrame:
    import pandas as pd

    return pd.concat([t.cells.assign(table=t.key) for t in board.tables()], ignore_index=True)[["table", *COLUMNS]]


def board_json(board: Leaderboard) -> dict:
    def records(frame):
        return json.loads(frame.to_json(orient="records", force_ascii=False))

    return {"format_version": 1, "scale": SCALE, "average_ci": AVERAGE_CI, "notes": board.notes,
            "runs": records(board.runs),
            "tables": [{"key": t.key, "title": t.title, "caption": t.caption, "models": t.models,
                        "columns": t.columns, "cells": records(t.cells)} for t in board.tables()]}


def heatmap_png(board: Leaderboard, path: Path) -> None:
    """Model × language of the mean over tasks; ‡ on partial means."""
    import numpy as np
    from matplotlib.figure import Figure

    values = board.languages.values()
    marks = board.languages.cells.pivot(index="model", columns="column", values="mark").reindex_like(values)
    fig = Figure(figsize=(1.2 + 0.8 * len(values.columns) + 0.1 * max(len(one_line(m)) for m in values.index),
                          1.2 + 0.5 * len(values.index)), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(values.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(values.columns)), labels=list(values.columns))
    ax.set_yticks(range(len(values.index)), labels=[one_line(m).replace("$", r"\$") for m in values.index])
    for (i, j), value in np.ndenumerate(values.to_numpy(dtype=float)):
        if not math.isnan(value):
            mark = marks.iat[i, j] if isinstance(marks.iat[i, j], str) else ""
            ax.text(j, i, f"{value:.1f}{mark}", ha="center", va="center", color="white" if value < 60 else "black")
    ax.set_title("Mean over tasks per language (0–100)")
    fig.colorbar(image, ax=ax)
    fig.savefig(path, dpi=120)


def write(board: Leaderboard, out: Path) -> list[Path]:
    """Write leaderboard.md, .csv, .json, .tex, index.html and heatmap.png into ``out``; returns their paths."""
    from harness import html_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.tex",
                                     "index.html", "heatmap.png")]
    paths[0].write_text(markdown(board), encoding="utf-8")
    long_frame(board).to_csv(paths[1], index=False)
    paths[2].write_text(json.dumps(board_json(board), ensure_ascii=False, indent=1), encoding="utf-8")
    paths[3].write_text(latex(board), encoding="utf-8")
    paths[4].write_text(html_report.render(board), encoding="utf-8")
    heatmap_png(board, paths[5])
    return paths


# ---------------------------------------------------------------- command line



def main(args: argparse.Namespace) -> int:
    board = build(args.run_dirs)
    for path in write(board, args.out):
        print(f"wrote {path}", file=sys.stderr)
    print(markdown_table(board.overall))
    for note in board.notes[len(LEGEND):]:  # the † reasons
        print(f"- {md_escape(note)}")
    return 0
