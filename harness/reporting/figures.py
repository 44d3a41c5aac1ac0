"""Pictures of the reports, built once as matplotlib ``Figure``s and written two ways: ``png(fig, path)`` for the
files beside the tables, ``svg(fig)`` for the same figure inline in an HTML page (no file, no request).

- ``task_scores(table)``: one task's score by language, one series per model, with the cell's 95% CI as whiskers;
  cells that are not ranked († not comparable, ✗ model errors) are drawn hollow.
- ``outcome_mix(outcomes, model, task)``: for code tasks, the share of programs by outcome in each language.
- ``forest(comparison)``: ``octoglot compare``'s paired differences B − A with their 95% CIs, one row per tested
  (task, language), Holm-significant rows marked, then the macro averages.

Every figure is built with ``matplotlib.figure.Figure`` (no pyplot: no global state, no GUI backend). Run-derived
text (model labels, task names) is drawn as text: ``$`` is escaped so that a label is never read as mathtext, and the
SVG backend escapes ``<``, ``>`` and ``&`` in it (a test checks a ``<script>`` label).
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from harness.reporting.leaderboard import OUTCOME_ORDER

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harness.reporting.leaderboard import Table

# One colour per outcome, in OUTCOME_ORDER: green for passed, warm colours for the program's own failures, cool and
# grey ones for the limits, the data and the model.
OUTCOME_COLOURS = {"passed": "#2e7d32", "failed": "#d32f2f", "error": "#f57c00", "timeout": "#7b1fa2",
                   "memory": "#5d4037", "sandbox_violation": "#1565c0", "data_error": "#9e9e9e",
                   "model error": "#212121"}
SIGNIFICANT_COLOUR, PLAIN_COLOUR, MACRO_COLOUR = "#c62828", "#616161", "#000000"
DPI = 120
# Rendering settings that make the SVG text the same on every run and keep text as text (selectable, escaped).
SVG_RC = {"svg.hashsalt": "octoglot", "svg.fonttype": "none"}


# ---------------------------------------------------------------------------------------------- output

def png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG file; returns the path."""
    fig.savefig(path, dpi=DPI)
    return Path(path)


def svg(fig: Figure, *, prefix: str = "") -> str:
    """``fig`` as inline SVG text for an HTML page: no XML prolog, doctype, metadata or namespace declarations
    (HTML's parser puts ``<svg>`` in the SVG namespace itself), ids prefixed with ``prefix`` so that several figures
    on one page do not share ids, and the same text on every run (fixed hash salt, no date)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    text = re.sub(r' xmlns(:xlink)?="[^"]*"', "", text)
    text = text.replace("<svg ", '<svg class="figure" role="img" ', 1)
    if prefix:
        text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
        text = re.sub(r'(href="#|url\(#)', rf"\g<1>{prefix}", text)
    return text.strip() + "\n"


def safe_name(text: str) -> str:
    """A file-name piece from run text (as ``long_context.heatmap_names`` makes them): runs of other characters than
    ``A-Za-z0-9_.-`` become ``-``, at most 80 characters."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "x"


def task_png_names(tasks: list[str]) -> list[tuple[str, str]]:
    """(task, file name) of every ``task_scores`` PNG a leaderboard writes: ``task-<task>.png``, made unique."""
    return _unique([(task, f"task-{safe_name(task)}") for task in tasks])


def outcome_png_names(outcomes: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(model, task, file name) of every ``outcome_mix`` PNG: ``outcomes-<model>-<task>.png``, made unique."""
    pairs = list(dict.fromkeys(zip(outcomes["model"], outcomes["task"])))
    names = _unique([(pair, f"outcomes-{safe_name(pair[0])}-{safe_name(pair[1])}") for pair in pairs])
    return [(model, task, name) for (model, task), name in names]


def _unique(keyed: list[tuple[object, str]]) -> list[tuple[object, str]]:
    """Add ``-2``, ``-3``… to stems that two keys share (``a/b`` and ``a-b`` make the same safe name); then
    ``.png``."""
    seen: dict[str, int] = {}
    out = []
    for key, stem in keyed:
        seen[stem] = seen.get(stem, 0) + 1
        out.append((key, f"{stem}-{seen[stem]}.png" if seen[stem] > 1 else f"{stem}.png"))
    return out


def label(text: object, width: int = 60) -> str:
    """Run text as a one-line matplotlib label: ``$`` escaped (never mathtext), cut at ``width`` characters."""
    line = " ".join(str(text).split())
    if len(line) > width:
        line = line[:width - 1] + "…"
    return line.replace("$", r"\$")


def _empty(message: str) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 1.2))
    fig.text(0.5, 0.5, message, ha="center", va="center")
    return fig


# ---------------------------------------------------------------------------------------------- leaderboard

def task_scores(table: Table) -> Figure:
    """One task: the score (0–100) by language, one series per model side by side, with 95% CI whiskers clipped to
    [0, 100]. A ranked cell is a filled dot; a cell that is not ranked († or ✗) a hollow one. The "mean" column is
    left out (it is an average of the columns shown)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    langs = [c for c in table.columns if c != "mean"]
    cells = table.cells[table.cells["column"].isin(langs)]
    models = [m for m in table.models if m in set(cells["model"])]
    if not langs or not models:
        return _empty(f"{label(table.title)}: no score to show")
    fig = Figure(figsize=(3.2 + max(len(langs), 2) * (0.35 + 0.12 * len(models)), 3.4), layout="constrained")
    ax = fig.add_subplot()
    colours = _palette(len(models))
    width = 0.8 / len(models)
    hollow = False
    for i, model in enumerate(models):
        mine = cells[cells["model"] == model].set_index("column").reindex(langs)
        offset = (i - (len(models) - 1) / 2) * width
        hollow |= _model_series(ax, mine, offset, colours[i], label(model, 40))
    ax.set_xticks(range(len(langs)), labels=[label(lang) for lang in langs])
    ax.set_xlim(-0.6, len(langs) - 0.4)
    ax.set_ylim(0, 100)
    ax.set_ylabel("score (0–100)")
    ax.set_title(label(table.title, 80), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    if hollow:
        handles.append(Line2D([], [], ls="none", marker="o", mfc="none", mec="#444444"))
        names.append("hollow: not ranked († ✗)")
    ax.legend(handles, names, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig


def _model_series(ax, mine: pd.DataFrame, offset: float, colour: str, name: str) -> bool:
    """One model's dots and whiskers on ``ax``; returns whether some of its dots are hollow (not ranked)."""
    import numpy as np

    x = np.arange(len(mine)) + offset
    values = mine["value"].to_numpy(dtype=float)
    low = np.clip(mine["ci_low"].to_numpy(dtype=float), 0, 100)
    high = np.clip(mine["ci_high"].to_numpy(dtype=float), 0, 100)
    ranked = mine["rank"].notna().to_numpy() if len(mine) else np.array([], dtype=bool)
    shown = ~np.isnan(values)
    whisker = shown & ~np.isnan(low) & ~np.isnan(high)
    yerr = np.vstack([np.maximum(values - low, 0), np.maximum(high - values, 0)])[:, whisker]
    ax.errorbar(x[whisker], values[whisker], yerr=yerr, fmt="none", ecolor=colour, elinewidth=1.2, capsize=2)
    ax.plot(x[shown & ranked], values[shown & ranked], ls="none", marker="o", color=colour, label=name)
    if np.any(shown & ~ranked):
        ax.plot(x[shown & ~ranked], values[shown & ~ranked], ls="none", marker="o", mfc="white", mec=colour)
        return True
    return False


def _palette(n: int) -> list[str]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def outcome_mix(outcomes: pd.DataFrame, model: str, task: str) -> Figure:
    """A code task: per language, one horizontal bar stacked by outcome, each the share (%) of the programs
    recorded (outcomes as in ``leaderboard.OUTCOMES``), with the count of programs beside the bar."""
    from matplotlib.figure import Figure

    from harness.core.languages import ordered

    frame = outcomes[(outcomes["model"] == model) & (outcomes["task"] == task)]
    frame = frame.set_index("lang").reindex(ordered(frame["lang"]))
    totals = frame[list(OUTCOME_ORDER)].sum(axis=1)
    frame, totals = frame[totals > 0], totals[totals > 0]
    if frame.empty:
        return _empty(f"{label(model)}: {label(task)}: no program outcome to show")
    fig = Figure(figsize=(7.5, 1.4 + 0.35 * len(frame)), layout="constrained")
    ax = fig.add_subplot()
    rows = list(range(len(frame)))
    left = [0.0] * len(frame)
    for outcome in OUTCOME_ORDER:
        share = (100 * frame[outcome] / totals).tolist()
        ax.barh(rows, share, left=left, color=OUTCOME_COLOURS[outcome], label=outcome, height=0.7)
        left = [a + b for a, b in zip(left, share)]
    for row, total in zip(rows, totals):
        ax.text(101, row, f"n={int(total)}", va="center", fontsize=7)
    ax.set_yticks(rows, labels=[label(lang) for lang in frame.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("share of programs (%)")
    ax.set_title(f"{label(model, 50)}: {label(task)}, program outcomes", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig


# ---------------------------------------------------------------------------------------------- compare

def forest_rows(comparison) -> list[dict]:
    """The rows of ``forest``, top to bottom: per task its tested cells (Δ and CI × 100 for 0–1 metrics, so every
    row reads in points), then the task's macro average; last the overall macro average. ``comparison`` is a
    ``compare.Comparison`` (not imported: ``compare`` imports this module)."""
    macro = {(m.task or ""): m for m in comparison.macro}
    rows = []
    for task in dict.fromkeys(c.task for c in comparison.tested):
        for cell in (c for c in comparison.tested if c.task == task):
            factor = 100.0 / cell.scale
            low, high = cell.detail["ci95"]
            direction = "" if cell.higher_is_better else ", lower is better"
            rows.append({"label": f"{cell.task} / {cell.lang} ({cell.metric}{direction})", "delta": factor * cell.delta,
                         "low": factor * low, "high": factor * high, "kind": "cell",
                         "significant": cell.p_holm is not None and cell.p_holm < comparison.alpha and cell.delta != 0})
        if task in macro:
            rows.append(_macro_row(macro[task], f"{task} / macro average"))
    if "" in macro:
        rows.append(_macro_row(macro[""], "overall macro average"))
    return rows


def _macro_row(macro, text: str) -> dict:
    return {"label": text, "delta": macro.delta, "low": macro.ci95[0], "high": macro.ci95[1], "kind": "macro",
            "significant": False}


def forest(comparison) -> Figure:
    """Forest plot of a comparison: one row per tested (task, language) and per macro average (``forest_rows``):
    the point Δ = B − A (points, 0–100 scale) and its 95% CI, a vertical line at 0. Rows whose Holm-corrected
    p-value is below alpha are filled red with a ``*`` after the label; others hollow grey; macro averages are
    black diamonds (an interval, no test)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    rows = forest_rows(comparison)
    if not rows:
        return _empty("no tested cell to show")
    fig = Figure(figsize=(7.5, 1.3 + 0.26 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    for y, row in enumerate(rows):
        _forest_row(ax, y, row)
    ax.axvline(0, color="#888888", lw=0.8, zorder=0)
    ax.set_yticks(range(len(rows)), labels=[label(r["label"], 70) + (" *" if r["significant"] else "")
                                            for r in rows], fontsize=7)
    for tick, row in zip(ax.get_yticklabels(), rows):
        if row["kind"] == "macro":
            tick.set_fontweight("bold")
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("Δ = B − A (points; 0–1 metrics × 100)")
    ax.set_title(f"B = {label(comparison.model_b, 40)} minus A = {label(comparison.model_a, 40)}", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    legend = [Line2D([], [], ls="none", marker="o", color=SIGNIFICANT_COLOUR),
              Line2D([], [], ls="none", marker="o", mfc="white", mec=PLAIN_COLOUR),
              Line2D([], [], ls="none", marker="D", color=MACRO_COLOUR)]
    ax.legend(legend, [f"* Holm p < {comparison.alpha:g}", "not significant", "macro average (bootstrap CI)"],
              fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig


def _forest_row(ax, y: int, row: dict) -> None:
    """One row: whisker from the CI, then the marker (filled for significant and macro rows)."""
    if row["kind"] == "macro":
        colour, marker, face = MACRO_COLOUR, "D", MACRO_COLOUR
    elif row["significant"]:
        colour, marker, face = SIGNIFICANT_COLOUR, "o", SIGNIFICANT_COLOUR
    else:
        colour, marker, face = PLAIN_COLOUR, "o", "white"
    low, high = row["low"], row["high"]
    if not (math.isnan(low) or math.isnan(high)):
        ax.errorbar([row["delta"]], [y], xerr=[[max(row["delta"] - low, 0)], [max(high - row["delta"], 0)]],
                    fmt="none", ecolor=colour, elinewidth=1.2, capsize=2)
    ax.plot([row["delta"]], [y], ls="none", marker=marker, mfc=face, mec=colour, color=colour)
