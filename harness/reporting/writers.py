"""The leaderboard's files: ``leaderboard.md``, ``.csv``, ``.json``, ``.tex``, ``index.html`` and ``heatmap.png``;
with long-context runs, one ``context-NN-<model>-<task>.png`` length × depth heatmap per model and task; and
``explorer.html``, every sample of every run (``explorer``)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from harness.reporting import explorer, html_page, long_context, tool_calls
from harness.reporting.leaderboard import (AVERAGE_CI, COLUMNS, INSTRUCTIONS, LEGEND, OUTCOME_ORDER, OUTCOMES, SCALE,
                                           VS_ENGLISH, Leaderboard, Table, build)
from harness.reporting.markdown import md_escape, md_table


def markdown_table(table: Table) -> str:
    shown = table.display()
    lines = [f"### {md_escape(table.title)}", "", md_escape(table.caption), ""]
    lines += md_table(["model", *shown.columns], [[model, *row] for model, row in shown.iterrows()],
                      "l" + "r" * len(shown.columns))
    return "\n".join(lines) + "\n"


def vs_english_rows(board: Leaderboard) -> list[list[str]]:
    return [[r.model, r.task, r.lang, str(r.n), f"{100 * r.en:.1f}", f"{100 * r.score:.1f}", f"{100 * r.delta:+.1f}",
             f"{r.b} / {r.c}", f"{r.p_value:.3g}"] for r in board.vs_english.itertuples()]


VS_ENGLISH_HEADER = ["model", "task", "lang", "n", "English", "language", "Δ", "b / c", "McNemar p"]


def outcome_rows(board: Leaderboard) -> list[list[str]]:
    return [[r["model"], r["task"], r["lang"], *(str(r[o]) for o in OUTCOME_ORDER)]
            for _, r in board.outcomes.iterrows()]


def breakdowns_markdown(board: Leaderboard) -> list[str]:
    parts = []
    if len(board.vs_english):
        parts += ["## Paired difference from English", "", md_escape(VS_ENGLISH), "",
                  *md_table(VS_ENGLISH_HEADER, vs_english_rows(board), "lllrrrrrr"), ""]
    if len(board.outcomes):
        parts += ["## Program outcomes", "", md_escape(OUTCOMES), "",
                  *md_table(["model", "task", "lang", *OUTCOME_ORDER], outcome_rows(board), "lll" + "r" * 8), ""]
    if board.instructions is not None and len(board.instructions):
        parts += ["## Instruction types", "", md_escape(INSTRUCTIONS), "",
                  *md_table(["model", "task", "lang", "instruction", "n", "strict", "loose"], instruction_rows(board),
                            "llllrrr"), ""]
    if board.tool_calls is not None and len(board.tool_calls):
        parts += ["## Tool calls", "", md_escape(tool_calls.TOOL_CALLS), "",
                  *md_table(tool_calls.HEADER, tool_calls.rows(board.tool_calls),
                            "lllll" + "r" * (len(tool_calls.HEADER) - 5)), ""]
    if board.context is not None:
        parts += context_markdown(board)
    return parts


def context_markdown(board: Leaderboard) -> list[str]:
    parts = ["## Long context", "", md_escape(long_context.LENGTHS), "", md_escape(long_context.EFFECTIVE), ""]
    for model, task in long_context.groups(board.context["lengths"]):
        header, rows = long_context.length_grid(board.context, model, task)
        parts += [f"### {md_escape(model)}: {md_escape(task)}", "", *md_table(header, rows, "l" + "r" * (len(header) - 1)),
                  ""]
    names = long_context.heatmap_names(board.context["depths"])
    if names:
        parts += [md_escape(long_context.HEATMAP), ""] + [f"![{md_escape(m)}: {md_escape(t)}]({name})"
                                                          for m, t, name in names] + [""]
    if len(board.context["fertility"]):
        parts += ["### Tokenizer fertility", "", md_escape(long_context.FERTILITY), "",
                  *md_table(long_context.FERTILITY_HEADER, long_context.fertility_rows(board.context["fertility"]),
                            "llrrl"), ""]
    return parts


def instruction_rows(board: Leaderboard) -> list[list[str]]:
    return [[r.model, r.task, r.lang, r.instruction, str(r.n), f"{100 * r.strict:.1f}", f"{100 * r.loose:.1f}"]
            for r in board.instructions.itertuples()]


def markdown(board: Leaderboard) -> str:
    parts = ["# octoglot leaderboard", "", md_escape(f"{SCALE} {AVERAGE_CI}"), ""]
    parts += [markdown_table(t) for t in board.tables()]
    parts += figures_markdown(board)
    parts += breakdowns_markdown(board)
    parts += ["## Notes", "", *(f"- {md_escape(n)}" for n in board.notes), "", "## Runs", ""]
    parts += md_table(list(board.runs.columns), [list(row) for row in board.runs.itertuples(index=False)],
                      "l" * len(board.runs.columns))
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
            "runs": records(board.runs), "vs_english": records(board.vs_english),
            "outcomes": records(board.outcomes), "instructions": records(board.instructions),
            "tool_calls": records(board.tool_calls),
            "context": {key: records(frame) for key, frame in (board.context or {}).items()},
            "tables": [{"key": t.key, "title": t.title, "caption": t.caption, "models": t.models,
                        "columns": t.columns, "cells": records(t.cells)} for t in board.tables()]}


def heatmap_png(board: Leaderboard, path: Path) -> None:
    """Model × language of the mean over tasks; ‡ on partial means."""
    import numpy as np
    from matplotlib.figure import Figure

    values = board.languages.values()
    if values.empty or values.columns.empty:  # no average over tasks (every task is better when lower)
        fig = Figure(figsize=(4, 1.2))
        fig.text(0.5, 0.5, "no mean over tasks to show", ha="center", va="center")
        fig.savefig(path, dpi=120)
        return
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


def figure_pngs(board: Leaderboard, out: Path) -> list[Path]:
    """The pictures of index.html as PNG files: ``task-<task>.png`` per task (``figures.task_scores``) and
    ``outcomes-<model>-<task>.png`` per model and code task (``figures.outcome_mix``); returns their paths."""
    from harness.reporting import figures

    paths = [figures.png(figures.task_scores(board.by_task[task]), out / name)
             for task, name in figures.task_png_names(list(board.by_task))]
    if board.outcomes is not None and len(board.outcomes):
        paths += [figures.png(figures.outcome_mix(board.outcomes, model, task), out / name)
                  for model, task, name in figures.outcome_png_names(board.outcomes)]
    return paths


def figures_markdown(board: Leaderboard) -> list[str]:
    """Links to the PNG figures ``figure_pngs`` writes beside leaderboard.md."""
    from harness.reporting import figures

    lines = [f"![{md_escape(task)}: scores by language]({name})" for task, name in
             figures.task_png_names(list(board.by_task))]
    if board.outcomes is not None and len(board.outcomes):
        lines += [f"![{md_escape(model)}: {md_escape(task)}, program outcomes]({name})"
                  for model, task, name in figures.outcome_png_names(board.outcomes)]
    return ["## Figures", "", "Scores by language with their 95% CIs (hollow: not ranked), one series per model; "
            "program outcomes by language for code tasks.", "", *lines, ""] if lines else []


def write(board: Leaderboard, out: Path) -> list[Path]:
    """Write leaderboard.md, .csv, .json, .tex, index.html, heatmap.png (and the long-context heatmaps) and
    explorer.html (every sample, ``explorer``) into ``out``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.tex",
                                     "index.html", "heatmap.png")]
    paths[0].write_text(markdown(board), encoding="utf-8")
    long_frame(board).to_csv(paths[1], index=False)
    paths[2].write_text(json.dumps(board_json(board), ensure_ascii=False, indent=1), encoding="utf-8")
    paths[3].write_text(latex(board), encoding="utf-8")
    paths[4].write_text(html_page.render(board), encoding="utf-8")
    heatmap_png(board, paths[5])
    if board.context is not None:
        for model, task, name in long_context.heatmap_names(board.context["depths"]):
            long_context.heatmap_png(board.context["depths"], model, task, out / name)
            paths.append(out / name)
    paths += figure_pngs(board, out)
    paths.append(out / explorer.PAGE)
    paths[-1].write_text(explorer.page(board.loaded), encoding="utf-8")
    return paths


def main(args: argparse.Namespace) -> int:
    """``octoglot leaderboard RUN_DIR... --out DIR``: write every format, print the overall table and the † reasons."""
    board = build(args.run_dirs)
    for path in write(board, args.out):
        print(f"wrote {path}", file=sys.stderr)
    print(markdown_table(board.overall))
    for note in board.notes[len(LEGEND):]:  # the † reasons
        print(f"- {md_escape(note)}")
    return 0
