"""Long context in the report: how far into its window a model reads, per language.

Read from the run folders (the records' ``details.length`` and ``details.depth``, the units' ``context`` facts),
never from today's registry:

- ``by_length``: per model, task, language and length, the accuracy of the task's primary metric with its Wilson
  95% interval, the share of answers that said "none" although the needle was there, and the count;
- ``by_depth``: the same accuracy per length and needle depth (the heatmap's cells);
- ``effective_lengths``: per model, task and language, the longest length L such that the accuracy at every
  length up to L stays within ``MARGIN`` of the model's own accuracy at its shortest length (``EFFECTIVE``);
- ``fertility``: per model and language, the tokenizer's mean tokens per FLORES-200 devtest sentence and that
  mean over English's (from the manifest: measured once per run).

A sample with a model error is left out of every cell here and counted in ``errors`` (the main tables count it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from harness.core.languages import ordered
from harness.core.tokens import format_length
from harness.reporting.runs import Run
from harness.scoring.statistics import wilson_interval

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

MARGIN = 0.10  # accuracy points (0-1) below the short-context accuracy that still count as "reading"
FLOOR = 0.25  # a short-context accuracy below this: no effective length (nothing to hold on to)
EFFECTIVE = (f"Effective length: the longest length L such that the accuracy at every tested length up to L is at "
             f"least the model's own accuracy at its shortest tested length minus {round(100 * MARGIN)} points; "
             f"'–' when that short-context accuracy is below {round(100 * FLOOR)}% (no baseline to keep), "
             f"'< L' when already the second length falls short. Judged on the point estimates: with a few items "
             f"per length, read it with the intervals of the length table.")
LENGTHS = ("Accuracy by context length (primary metric × 100, Wilson 95% CI); said none: share of the answers with "
           "the language's word for 'none' although the needle was in the text (ONERULER's failure mode).")
HEATMAP = ("Heatmap: rows are context lengths, columns needle depths (0% = the start of the context, 100% = its "
           "end), each cell the accuracy of the items with that length and depth (greener is better, blank: no item). "
           "A dark band at one depth is the 'lost in the middle' pattern; a dark lower part is a model that stops "
           "reading before its window ends.")
FERTILITY = ("Tokenizer fertility: mean tokens per FLORES-200 devtest sentence (1,012 sentences, the same in every "
             "language), and that mean over English's: the same window holds 1/ratio as much text as in English.")
LENGTH_COLUMNS = ["model", "task", "lang", "length", "n", "errors", "accuracy", "ci_low", "ci_high", "said_none"]
DEPTH_COLUMNS = ["model", "task", "lang", "length", "depth", "n", "accuracy"]
EFFECTIVE_COLUMNS = ["model", "task", "lang", "baseline", "effective", "tested"]
FERTILITY_COLUMNS = ["model", "lang", "tokens_per_sentence", "vs_english", "tokenizer"]


def _sized_units(run: Run):
    for (task, lang), unit in run.units.items():
        if unit.get("context") and unit.get("kind") == "generate":
            yield task, lang, unit


def _records(runs: list[Run], labels: list[str]):
    """(label, task, lang, primary metric, record) of every sized unit's records."""
    for run, label in zip(runs, labels, strict=True):
        for task, lang, _ in _sized_units(run):
            primary = run.primary(task)
            for record in run.samples(task, lang):
                if (record.get("details") or {}).get("length") is not None:
                    yield label, task, lang, primary, record


def by_length(runs: list[Run], labels: list[str]) -> pd.DataFrame:
    import pandas as pd

    cells: dict[tuple, dict] = {}
    for label, task, lang, primary, record in _records(runs, labels):
        cell = cells.setdefault((label, task, lang, record["details"]["length"]),
                                {"n": 0, "errors": 0, "correct": 0.0, "none": 0, "none_n": 0})
        if record.get("error") or not record.get("metrics"):
            cell["errors"] += 1
            continue
        cell["n"] += 1
        cell["correct"] += float(record["metrics"].get(primary, 0.0))
        if "said_none" in record["metrics"]:
            cell["none_n"] += 1
            cell["none"] += float(record["metrics"]["said_none"])
    rows = []
    for (label, task, lang, length), c in cells.items():
        accuracy = c["correct"] / c["n"] if c["n"] else math.nan
        low, high = wilson_interval(c["correct"], c["n"]) if c["n"] else (math.nan, math.nan)
        rows.append({"model": label, "task": task, "lang": lang, "length": length, "n": c["n"], "errors": c["errors"],
                     "accuracy": accuracy, "ci_low": low, "ci_high": high,
                     "said_none": c["none"] / c["none_n"] if c["none_n"] else math.nan})
    return _sorted(pd.DataFrame(rows, columns=LENGTH_COLUMNS), ["length"])


def by_depth(runs: list[Run], labels: list[str]) -> pd.DataFrame:
    import pandas as pd

    cells: dict[tuple, list[float]] = {}
    for label, task, lang, primary, record in _records(runs, labels):
        depth = record["details"].get("depth")
        if depth is None or depth < 0 or record.get("error") or not record.get("metrics"):
            continue  # no needle asked (niah_none, cwe) or no answer
        cells.setdefault((label, task, lang, record["details"]["length"], depth), []).append(
            float(record["metrics"].get(primary, 0.0)))
    rows = [{"model": m, "task": t, "lang": lang, "length": length, "depth": d, "n": len(v),
             "accuracy": sum(v) / len(v)} for (m, t, lang, length, d), v in cells.items()]
    return _sorted(pd.DataFrame(rows, columns=DEPTH_COLUMNS), ["length", "depth"])


def _sorted(frame: pd.DataFrame, then: list[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    order = {code: i for i, code in enumerate(ordered(frame["lang"]))}
    by = ["model", *(["task"] if "task" in frame else []), "_lang", *then]
    return (frame.assign(_lang=frame["lang"].map(order)).sort_values(by)
            .drop(columns="_lang").reset_index(drop=True))


def effective_length(accuracies: list[tuple[int, float]]) -> tuple[float, str]:
    """(baseline, effective length as text) from (length, accuracy) pairs; the rule is ``EFFECTIVE``."""
    points = sorted((length, acc) for length, acc in accuracies if not math.isnan(acc))
    if not points:
        return math.nan, "–"
    baseline = points[0][1]
    if baseline < FLOOR:
        return baseline, "–"
    effective = None
    for length, acc in points:
        if acc < baseline - MARGIN - 1e-9:
            break
        effective = length
    if effective == points[-1][0] and len(points) > 1:
        return baseline, f"≥ {format_length(effective)}"
    if effective == points[0][0] and len(points) > 1:
        return baseline, f"< {format_length(points[1][0])}"
    return baseline, format_length(effective)


def effective_lengths(lengths: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for (model, task, lang), group in lengths.groupby(["model", "task", "lang"], sort=False):
        pairs = list(zip(group["length"], group["accuracy"]))
        baseline, effective = effective_length(pairs)
        rows.append({"model": model, "task": task, "lang": lang, "baseline": baseline, "effective": effective,
                     "tested": ", ".join(format_length(int(n)) for n in sorted(group["length"]))})
    return pd.DataFrame(rows, columns=EFFECTIVE_COLUMNS)


def fertility(runs: list[Run], labels: list[str]) -> pd.DataFrame:
    import pandas as pd

    rows = {}
    for run, label in zip(runs, labels, strict=True):
        for _, lang, unit in _sized_units(run):
            facts = unit["context"].get("fertility") or {}
            if facts.get("measured") and (label, lang) not in rows:
                tokenizer = unit["context"].get("tokenizer") or {}
                rows[label, lang] = {"model": label, "lang": lang,
                                     "tokens_per_sentence": facts.get("tokens_per_sentence"),
                                     "vs_english": facts.get("vs_english"),
                                     "tokenizer": tokenizer.get("tokenizer") or tokenizer.get("name") or ""}
    return _sorted(pd.DataFrame(list(rows.values()), columns=FERTILITY_COLUMNS), [])


# ------------------------------------------------------------------------------------------------ pictures

def heatmap_png(depths: pd.DataFrame, model: str, task: str, path: Path) -> None:
    """``heatmap_figure`` as a PNG file."""
    heatmap_figure(depths, model, task).savefig(path, dpi=110)


def heatmap_figure(depths: pd.DataFrame, model: str, task: str) -> Figure:
    """One panel per language: length (rows, shortest on top) × depth (columns), the accuracy in each cell (the
    same figure as a PNG file and as inline SVG in index.html)."""
    import numpy as np
    from matplotlib.figure import Figure

    frame = depths[(depths["model"] == model) & (depths["task"] == task)]
    langs = ordered(frame["lang"])
    lengths = sorted(frame["length"].unique())
    depth_values = sorted(frame["depth"].unique())
    columns = min(4, max(1, len(langs)))
    rows = max(1, -(-len(langs) // columns))
    fig = Figure(figsize=(2.2 + 2.6 * columns, 0.8 + (0.6 + 0.35 * len(lengths)) * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    image = None
    for ax, lang in zip(axes.flat, langs):
        grid = np.full((len(lengths), len(depth_values)), np.nan)
        for r in frame[frame["lang"] == lang].itertuples():
            grid[lengths.index(r.length), depth_values.index(r.depth)] = 100 * r.accuracy
        image = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
        ax.set_title(lang)
        ax.set_yticks(range(len(lengths)), labels=[format_length(int(n)) for n in lengths])
        ax.set_xticks(range(len(depth_values)), labels=[str(int(d)) for d in depth_values], fontsize=7)
    for ax in list(axes.flat)[len(langs):]:
        ax.set_visible(False)
    fig.suptitle(f"{model}: {task}, accuracy by length × needle depth (%)".replace("$", r"\$"))  # no mathtext
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8)
    return fig


def heatmap_names(depths: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(model, task, file name) of every heatmap a leaderboard writes."""
    import re

    names = []
    for i, ((model, task), _) in enumerate(depths.groupby(["model", "task"], sort=False)):
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{model}-{task}").strip("-")[:80]
        names.append((model, task, f"context-{i:02d}-{slug}.png"))
    return names


# ------------------------------------------------------------------------------------------------- tables

def groups(lengths: pd.DataFrame) -> list[tuple[str, str]]:
    """(model, task) pairs in report order."""
    return list(dict.fromkeys(zip(lengths["model"], lengths["task"])))


def cell_text(row) -> str:
    if row.n == 0:
        return f"✗{row.errors}" if row.errors else "–"
    text = f"{100 * row.accuracy:.0f} [{100 * row.ci_low:.0f}, {100 * row.ci_high:.0f}] n={row.n}"
    return text + (f" ✗{row.errors}" if row.errors else "")


def length_grid(board_context: dict, model: str, task: str) -> tuple[list[str], list[list[str]]]:
    """Language × length of one model and task: each cell ``accuracy [CI] n=…``, then the mean 'said none' share
    and the effective length."""
    lengths = board_context["lengths"]
    frame = lengths[(lengths["model"] == model) & (lengths["task"] == task)]
    tested = sorted(frame["length"].unique())
    effective = board_context["effective"]
    header = ["lang", *(format_length(int(n)) for n in tested), "said none", "effective"]
    rows = []
    for lang in ordered(frame["lang"]):
        mine = frame[frame["lang"] == lang].set_index("length")
        cells = [cell_text(mine.loc[n]) if n in mine.index else "–" for n in tested]
        none = mine["said_none"].dropna()
        eff = effective[(effective["model"] == model) & (effective["task"] == task) & (effective["lang"] == lang)]
        rows.append([lang, *cells, f"{100 * none.mean():.0f}%" if len(none) else "–",
                     eff["effective"].iloc[0] if len(eff) else "–"])
    return header, rows


def fertility_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [[r.model, r.lang, f"{r.tokens_per_sentence:.1f}", f"{r.vs_english:.2f}×" if r.vs_english else "–",
             r.tokenizer] for r in frame.itertuples()]


FERTILITY_HEADER = ["model", "lang", "tokens / sentence", "vs English", "tokenizer"]
