"""The leaderboard as one self-contained HTML page (``index.html``).

Inline CSS and JavaScript only: no CDN, no fonts, no requests (a Content-Security-Policy says so to the browser).
Every string that comes from a run (model labels, folders, arguments, notes) goes through ``html.escape``; no run
data is embedded in a script block: the sorting script reads the numbers from ``data-sort`` attributes.
Clicking a column header sorts the rows by it (numbers: best first, then the other way; no score stays last).
Every score cell links into the sample explorer (``explorer.html``, ``explorer``) filtered to its samples.
"""

from __future__ import annotations

import math
from html import escape

from harness.core.languages import ordered
from harness.core.tokens import format_length
from harness.reporting import explorer, long_context, tool_calls
from harness.reporting.leaderboard import (AVERAGE_CI, INSTRUCTIONS, OUTCOME_ORDER, OUTCOMES, SCALE, VS_ENGLISH,
                                           Leaderboard, Table)

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
nav a { margin-right: .8em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
caption { caption-side: bottom; text-align: left; font-size: 12px; color: #555; max-width: 70em; padding-top: .3em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; white-space: pre-wrap; }
td { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #f2f2f2; cursor: pointer; user-select: none; }
thead th[aria-sort=descending]::after { content: " \\25BC"; }
thead th[aria-sort=ascending]::after { content: " \\25B2"; }
tbody th { text-align: left; font-weight: normal; }
.ci { color: #666; font-size: 11px; }
.rank { font-weight: bold; }
td a { color: inherit; text-decoration: none; }
td a:hover { text-decoration: underline; }
.mark { color: #b00; font-weight: bold; }
.panels { display: flex; flex-wrap: wrap; gap: 1em; }
table.heat td { min-width: 2.2em; text-align: center; }
table.heat caption { caption-side: top; font-weight: bold; }
svg.figure { max-width: 100%; height: auto; display: block; margin: 0 0 1.5em; }
"""

JS = """
(function () {
  function sortKey(cell, numeric) {
    if (!numeric) { return cell.textContent; }
    var value = parseFloat(cell.getAttribute("data-sort"));
    return isNaN(value) ? null : value;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var now = th.getAttribute("aria-sort");
        var dir = now ? (now === "descending" ? "ascending" : "descending") : (numeric ? "descending" : "ascending");
        Array.prototype.forEach.call(heads, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var sign = dir === "ascending" ? 1 : -1;
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = sortKey(a.cells[col], numeric), y = sortKey(b.cells[col], numeric);
          if (x === null || y === null) { return (x === null) - (y === null); }
          return sign * (numeric ? x - y : x.localeCompare(y));
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""


def _colour(value: float) -> str:
    """Red (0) through yellow to green (100), light enough for dark text."""
    hue = 120 * min(max(value, 0.0), 100.0) / 100
    return f"background: hsl({hue:.0f}, 70%, 75%)"


def explorer_href(table: Table, model: str, column: str) -> str:
    """The explorer filtered to the samples behind a cell: its model, and the task and language the table's key
    and column name (a mean over languages or over tasks leaves that one open)."""
    kind, _, key = table.key.partition(":")
    value = None if column in ("mean", "overall") else column
    task, lang = {"task": (key, value), "lang": (value, key), "overall": (value, None),
                  "languages": (None, value)}.get(kind, (None, None))
    return explorer.link(model, task, lang)


def _cell(row, heat: bool, href: str | None = None) -> str:
    if row is None:
        return '<td data-sort="">–</td>'
    parts = [f"{row.value:.1f}"]
    if not (math.isnan(row.ci_low) or math.isnan(row.ci_high)):
        parts.append(f'<span class="ci">[{row.ci_low:.1f}, {row.ci_high:.1f}]</span>')
    if row["rank"] == row["rank"]:
        parts.append(f'<span class="rank">#{int(row["rank"])}</span>')
    else:
        parts.append(f'<span class="mark">{escape(row.mark)}</span>')
    style = f' style="{_colour(row.value)}"' if heat else ""
    title = f' title="{escape(row.note)}"' if row.note else ""
    text = " ".join(parts)
    if href is not None:
        text = f'<a href="{escape(href)}">{text}</a>'
    return f'<td data-sort="{row.value:.6f}"{style}{title}>{text}</td>'


def table_html(table: Table, heat: bool = False) -> str:
    cells = {(r.model, r.column): r for _, r in table.cells.iterrows()}
    head = '<th data-type="text">model</th>' + "".join(f'<th data-type="num">{escape(c)}</th>' for c in table.columns)
    body = []
    for model in table.models:
        row = "".join(_cell(cells.get((model, c)), heat, explorer_href(table, model, c)) for c in table.columns)
        body.append(f'<tr><th scope="row">{escape(model)}</th>{row}</tr>')
    return (f'<table class="sortable" id="{escape(table.key)}">\n<caption>{escape(table.caption)}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>")


def _section(table: Table, heat: bool = False, figure: str = "") -> str:
    """A table under its title; ``figure``: inline SVG shown under the table (``figures.svg``)."""
    title = f"<h3>{escape(table.title)}</h3>"
    return f'<section id="s-{escape(table.key)}">\n{title}\n{table_html(table, heat)}\n{figure}</section>'


def _task_sections(board: Leaderboard) -> str:
    """Per task its table and, under it, the same scores as a picture (``figures.task_scores``, inline SVG)."""
    from harness.reporting import figures

    return "".join(_section(t, figure=figures.svg(figures.task_scores(t), prefix=f"task{i}-"))
                   for i, t in enumerate(board.by_task.values()))


def _outcome_figures(board: Leaderboard) -> str:
    """Per model and code task, the outcome mix by language (``figures.outcome_mix``, inline SVG)."""
    from harness.reporting import figures

    return "".join(figures.svg(figures.outcome_mix(board.outcomes, model, task), prefix=f"outcomes{i}-")
                   for i, (model, task, _) in enumerate(figures.outcome_png_names(board.outcomes)))


def _runs_html(board: Leaderboard) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in board.runs.columns)
    rows = ["<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
            for row in board.runs.itertuples(index=False)]
    return f'<table id="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _plain_table(key: str, header: list[str], rows: list[list[object]]) -> str:
    """A sortable table of text cells, every one escaped."""
    head = "".join(f'<th data-type="text">{escape(str(h))}</th>' for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="sortable" id="{escape(key)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _breakdowns(board: Leaderboard) -> str:
    parts = []
    if board.vs_english is not None and len(board.vs_english):
        rows = [[r.model, r.task, r.lang, r.n, f"{100 * r.en:.1f}", f"{100 * r.score:.1f}", f"{100 * r.delta:+.1f}",
                 f"{r.b} / {r.c}", f"{r.p_value:.3g}"] for r in board.vs_english.itertuples()]
        parts.append(f'<h2 id="vs-english">Paired difference from English</h2>\n<p>{escape(VS_ENGLISH)}</p>\n'
                     + _plain_table("vs_english", ["model", "task", "lang", "n", "English", "language", "Δ", "b / c",
                                                   "McNemar p"], rows))
    if board.outcomes is not None and len(board.outcomes):
        rows = [[r["model"], r["task"], r["lang"], *(r[o] for o in OUTCOME_ORDER)] for _, r in board.outcomes.iterrows()]
        parts.append(f'<h2 id="outcomes">Program outcomes</h2>\n<p>{escape(OUTCOMES)}</p>\n'
                     + _plain_table("outcomes", ["model", "task", "lang", *OUTCOME_ORDER], rows)
                     + _outcome_figures(board))
    if board.instructions is not None and len(board.instructions):
        rows = [[r.model, r.task, r.lang, r.instruction, r.n, f"{100 * r.strict:.1f}", f"{100 * r.loose:.1f}"]
                for r in board.instructions.itertuples()]
        parts.append(f'<h2 id="instructions">Instruction types</h2>\n<p>{escape(INSTRUCTIONS)}</p>\n'
                     + _plain_table("instructions", ["model", "task", "lang", "instruction", "n", "strict", "loose"],
                                    rows))
    if board.tool_calls is not None and len(board.tool_calls):
        parts.append(f'<h2 id="tool-calls">Tool calls</h2>\n<p>{escape(tool_calls.TOOL_CALLS)}</p>\n'
                     + _plain_table("tool_calls", tool_calls.HEADER, tool_calls.rows(board.tool_calls)))
    if board.context is not None:
        parts.append(_context_html(board))
    return "\n".join(parts)


def _context_html(board: Leaderboard) -> str:
    context = board.context
    parts = ['<h2 id="long-context">Long context</h2>', f"<p>{escape(long_context.LENGTHS)}</p>",
             f"<p>{escape(long_context.EFFECTIVE)}</p>"]
    for i, (model, task) in enumerate(long_context.groups(context["lengths"])):
        header, rows = long_context.length_grid(context, model, task)
        parts.append(f"<h3>{escape(model)}: {escape(task)}</h3>" + _plain_table(f"context-{i}", header, rows))
    names = long_context.heatmap_names(context["depths"])
    if names:
        parts.append(f"<p>{escape(long_context.HEATMAP)}</p>")
    depths = context["depths"]
    from harness.reporting import figures

    for index, (model, task, name) in enumerate(names):
        frame = depths[(depths["model"] == model) & (depths["task"] == task)]
        lengths = sorted(frame["length"].unique())
        columns = sorted(frame["depth"].unique())
        panels = []
        for lang in ordered(frame["lang"]):
            mine = {(r.length, r.depth): r for r in frame[frame["lang"] == lang].itertuples()}
            head = "".join(f"<th>{int(d)}</th>" for d in columns)
            body = ""
            for length in lengths:
                cells = ""
                for d in columns:
                    r = mine.get((length, d))
                    cells += (f'<td style="{_colour(100 * r.accuracy)}" title="n={r.n}">{100 * r.accuracy:.0f}</td>'
                              if r is not None else "<td></td>")
                body += f"<tr><th>{escape(format_length(int(length)))}</th>{cells}</tr>"
            panels.append(f'<table class="heat"><caption>{escape(lang)}</caption><thead><tr><th>length \\ depth %'
                          f"</th>{head}</tr></thead><tbody>{body}</tbody></table>")
        parts.append(f"<h3>{escape(model)}: {escape(task)}, length × depth</h3>"
                     f'<div class="panels">{"".join(panels)}</div>'
                     + figures.svg(long_context.heatmap_figure(depths, model, task), prefix=f"context{index}-")
                     + f'<p>The same picture as a file: <a href="{escape(name)}">{escape(name)}</a></p>')
    if len(context["fertility"]):
        parts.append(f"<h3>Tokenizer fertility</h3><p>{escape(long_context.FERTILITY)}</p>"
                     + _plain_table("fertility", long_context.FERTILITY_HEADER,
                                    long_context.fertility_rows(context["fertility"])))
    return "\n".join(parts)


def render(board: Leaderboard) -> str:
    def links(tables):
        return " ".join(f'<a href="#s-{escape(t.key)}">{escape(t.key.split(":", 1)[-1])}</a>' for t in tables)

    notes = "".join(f"<li>{escape(n)}</li>" for n in board.notes)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>octoglot leaderboard</title>
<style>{CSS}</style>
</head>
<body>
<h1>octoglot leaderboard</h1>
<p>{escape(SCALE)} {escape(AVERAGE_CI)} Click a column header to sort.</p>
<nav><a href="#s-overall">overall</a> <a href="#s-languages">heatmap</a> | tasks: {links(board.by_task.values())}
| languages: {links(board.by_lang.values())} | <a href="#notes">notes</a> <a href="#s-runs">runs</a>
| <a href="{explorer.PAGE}">sample explorer</a></nav>
<h2>Overall</h2>
{_section(board.overall)}
<h2>Heatmap: model × language</h2>
{_section(board.languages, heat=True)}
<h2>By task</h2>
{_task_sections(board)}
<h2>By language</h2>
{"".join(_section(t) for t in board.by_lang.values())}
{_breakdowns(board)}
<h2 id="notes">Notes</h2>
<ul>{notes}</ul>
<h2 id="s-runs">Runs</h2>
{_runs_html(board)}
<script>{JS}</script>
</body>
</html>
"""
