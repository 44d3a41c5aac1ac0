"""The report pictures (harness.reporting.figures): what each figure draws, read back from its matplotlib Axes
(series, points, whiskers, bars), and the inline SVG they become in HTML pages (escaped, deterministic)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.container import BarContainer, ErrorbarContainer

from harness.reporting import compare as cmp
from harness.reporting import figures, leaderboard, writers
from harness.reporting.leaderboard import COLUMNS, OUTCOME_ORDER, Table
from test_compare import binary, runs, write_run as write_compare_run  # noqa: F401 (runs: a fixture)
from test_leaderboard import ALPHA, BETA, GAMMA, write_run

HOSTILE = "<script>alert(1)</script>"


def table(rows: list[tuple], models: list[str], columns: list[str]) -> Table:
    """A task table from (model, column, value, ci_low, ci_high, rank, mark) rows."""
    cells = pd.DataFrame([{"model": m, "column": c, "value": v, "stderr": math.nan, "ci_low": lo, "ci_high": hi,
                           "n": 20, "rank": r, "mark": mark, "note": ""} for m, c, v, lo, hi, r, mark in rows],
                         columns=COLUMNS)
    return Table("task:toy", "toy: acc by language", "caption", cells, models, columns)


def whiskers(ax) -> list[np.ndarray]:
    """The whisker segments of every errorbar container on ``ax``, one array of segments per container."""
    out = []
    for container in ax.containers:
        assert isinstance(container, ErrorbarContainer)
        (bars,) = container.lines[2]
        assert isinstance(bars, LineCollection)
        out.append(np.array(bars.get_segments()))
    return out


def points(ax) -> list[tuple[float, float, str]]:
    """(x, y, face colour) of every marker drawn with ``plot`` (errorbar containers draw none: fmt="none")."""
    out = []
    for line in ax.lines:
        if line.get_marker() in ("o", "D"):
            out += [(x, y, line.get_markerfacecolor()) for x, y in zip(line.get_xdata(), line.get_ydata())]
    return out


# --- task_scores --------------------------------------------------------------------------------------------------

@pytest.fixture
def board(tmp_path):
    """alpha, beta (its sib200/de prompt hash differs: † there) and gamma, on sib200 and flores in en, de, th."""
    runs = [write_run(tmp_path, "alpha", "alpha", ALPHA),
            write_run(tmp_path, "beta", "beta", BETA, prompt_hashes={("sib200", "de"): "other"}),
            write_run(tmp_path, "gamma", "gamma", GAMMA)]
    return leaderboard.build(runs)


def test_task_scores_draws_one_series_per_model_with_a_point_and_whisker_per_language(board):
    fig = figures.task_scores(board.by_task["sib200"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["en", "de", "th"]  # the "mean" column is left out
    assert len(ax.containers) == 3  # one errorbar series per model
    assert [len(segments) for segments in whiskers(ax)] == [3, 3, 3]
    drawn = points(ax)
    assert len(drawn) == 9
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == board.by_task["sib200"].models and "not ranked" in legend[3]
    # beta's de is † (prompt hash differs): not ranked, drawn hollow; every other dot is filled
    hollow = [(x, y) for x, y, face in drawn if face == "white"]
    assert len(hollow) == 1 and hollow[0][1] == pytest.approx(60.0) and 0.5 < hollow[0][0] < 1.5
    # alpha's en: 80 with its stored interval [70, 88]
    alpha = board.by_task["sib200"].models.index("alpha")
    en = whiskers(ax)[alpha][0]
    assert sorted(en[:, 1]) == pytest.approx([70.0, 88.0])


def test_task_scores_whiskers_are_clipped_to_0_100_and_missing_cis_have_none():
    fig = figures.task_scores(table([("m", "en", 97.0, 90.0, 130.0, 1, ""), ("m", "de", 2.0, -5.0, 9.0, 1, ""),
                                     ("m", "th", 50.0, math.nan, math.nan, 1, "")], ["m"], ["en", "de", "th", "mean"]))
    ax = fig.axes[0]
    (segments,) = whiskers(ax)
    assert len(segments) == 2  # th has no interval: a dot, no whisker
    assert segments[:, :, 1].min() == 0.0 and segments[:, :, 1].max() == 100.0
    assert ax.get_ylim() == (0.0, 100.0) and len(points(ax)) == 3


def test_task_scores_of_a_table_without_languages_is_a_note():
    fig = figures.task_scores(table([], ["m"], ["mean"]))
    assert not fig.axes and "no score" in fig.texts[0].get_text()


# --- inline SVG ----------------------------------------------------------------------------------------------------

def test_run_text_appears_only_escaped_in_the_svg():
    fig = figures.task_scores(table([(HOSTILE, "en", 50.0, 40.0, 60.0, 1, ""), ("$x$ & co", "en", 40.0, 30.0, 50.0,
                                                                                  2, "")],
                                    [HOSTILE, "$x$ & co"], ["en", "mean"]))
    text = figures.svg(fig)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script" not in text and "alert(1)</script>" not in text
    assert "$x$ &amp; co" in text  # shown as typed, never read as mathtext


def test_svg_is_inline_ready_and_the_same_every_time(board):
    first = figures.svg(figures.task_scores(board.by_task["sib200"]), prefix="t0-")
    again = figures.svg(figures.task_scores(board.by_task["sib200"]), prefix="t0-")
    assert first == again
    assert first.startswith("<svg ") and "<?xml" not in first and "<!DOCTYPE" not in first
    assert not re.search(r"https?://", first)  # no namespace URLs, no metadata: index.html's test forbids them
    ids = re.findall(r'\bid="([^"]+)"', first)
    assert ids and all(i.startswith("t0-") for i in ids)
    assert all(ref.startswith("t0-") for ref in re.findall(r'href="#([^"]+)"', first))


def test_png_is_a_png(board, tmp_path):
    path = figures.png(figures.task_scores(board.by_task["flores_en_xx"]), tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("names, expected", [
    (["sib200", "mgsm"], ["task-sib200.png", "task-mgsm.png"]),
    (["a/b", "a-b", "../x"], ["task-a-b.png", "task-a-b-2.png", "task-..-x.png"]),
])
def test_task_png_names_are_safe_and_unique(names, expected):
    assert [name for _, name in figures.task_png_names(names)] == expected


# --- outcome_mix ---------------------------------------------------------------------------------------------------

def outcomes() -> pd.DataFrame:
    counts = [dict.fromkeys(OUTCOME_ORDER, 0) for _ in range(3)]
    counts[0].update(passed=6, failed=3, timeout=1)
    counts[1].update(passed=1, error=2, sandbox_violation=1)
    return pd.DataFrame([{"model": "m/1", "task": "mhumaneval", "lang": lang, **c}
                         for lang, c in zip(["de", "en", "th"], counts)])


def test_outcome_mix_stacks_the_shares_of_every_outcome_per_language():
    ax = figures.outcome_mix(outcomes(), "m/1", "mhumaneval").axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [c.get_label() for c in bars] == list(OUTCOME_ORDER)
    assert all(len(c.patches) == 2 for c in bars)  # en, de (th recorded no program: left out)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["en", "de"]
    widths = np.array([[p.get_width() for p in c.patches] for c in bars])
    assert widths.sum(axis=0) == pytest.approx([100.0, 100.0])
    assert widths[0].tolist() == pytest.approx([25.0, 60.0])  # passed: 1 of 4 in en, 6 of 10 in de
    assert [l.get_text() for l in ax.get_legend().get_texts()] == list(OUTCOME_ORDER)


def test_outcome_png_names_use_safe_file_names():
    assert figures.outcome_png_names(outcomes()) == [("m/1", "mhumaneval", "outcomes-m-1-mhumaneval.png")]


# --- forest --------------------------------------------------------------------------------------------------------

def test_forest_has_a_row_per_tested_cell_and_per_macro_average_with_significant_ones_marked(runs):  # noqa: F811
    comparison = cmp.compare(*runs)
    rows = figures.forest_rows(comparison)
    # four tested cells (sib200 en, de, fr; flores de), a macro row per task, the overall macro row
    assert [r["label"] for r in rows] == ["sib200 / en (acc)", "sib200 / de (acc)", "sib200 / fr (acc)",
                                          "sib200 / macro average", "flores_en_xx / de (chrf++)",
                                          "flores_en_xx / macro average", "overall macro average"]
    assert [r["significant"] for r in rows] == [True, True, False, False, True, False, False]
    assert rows[0]["delta"] == pytest.approx(60.0)  # 0–1 metric: in points
    ax = figures.forest(comparison).axes[0]
    assert len(ax.get_yticklabels()) == len(comparison.tested) + len(comparison.macro) == 7
    assert [t.get_text().endswith(" *") for t in ax.get_yticklabels()] == [r["significant"] for r in rows]
    drawn = points(ax)
    assert len(drawn) == 7 and len(ax.containers) == 7  # a marker and a whisker per row
    assert sum(face == figures.SIGNIFICANT_COLOUR for _, _, face in drawn) == 3
    assert sum(face == figures.MACRO_COLOUR for _, _, face in drawn) == 3
    for row, segments in zip(rows, whiskers(ax)):
        assert sorted(segments[0][:, 0]) == pytest.approx([row["low"], row["high"]])
    assert any(line.get_xdata()[0] == 0 for line in ax.lines if line.get_marker() not in ("o", "D"))  # the 0 line


def test_forest_svg_escapes_the_model_labels(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    a = write_compare_run(tmp_path / "a", hostile, {("sib200", "en"): binary({1, 2})})
    b = write_compare_run(tmp_path / "b", "beta", {("sib200", "en"): binary({1, 2, 3})})
    text = figures.svg(figures.forest(cmp.compare(a, b)))
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and "<img" not in text


# --- in the leaderboard's files ------------------------------------------------------------------------------------

def test_index_html_and_the_png_files_show_the_same_figures(board, tmp_path):
    board.outcomes = outcomes()  # as a code task's runs would give
    paths = writers.write(board, tmp_path / "report")
    names = [p.name for p in paths]
    assert names[:6] == ["leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.tex", "index.html",
                         "heatmap.png"]
    assert {"task-sib200.png", "task-flores_en_xx.png", "outcomes-m-1-mhumaneval.png"} <= set(names)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths if p.suffix == ".png")
    page = paths[4].read_text(encoding="utf-8")
    assert page.count('<svg class="figure"') == len(board.by_task) + 1  # a figure per task, one outcome mix
    section = page[page.index('<section id="s-task:sib200">'):]
    assert section.index("<svg") < section.index("</section>")  # under the task's table
    assert page.index('id="outcomes"') < page.index('id="outcomes0-')  # beside the outcome table
    text = paths[0].read_text(encoding="utf-8")
    assert "](task-sib200.png)" in text and "](outcomes-m-1-mhumaneval.png)" in text
