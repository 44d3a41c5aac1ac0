"""The terminal table at the end of a run: each task's primary metric by language, on a 0-100 scale (a metric
recorded on 0-1 × 100, one recorded on 0-100 as it is), read from the score rows' own facts."""

from __future__ import annotations

from harness.core.languages import ordered


def score_table(scores: list[dict]):
    """A task × language pandas table of each task's primary metric, in the order the tasks were scored."""
    import pandas as pd

    rows = [dict(s, value=s["value"] * 100 / s["scale"]) for s in scores if s.get("primary")]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    table = frame.pivot_table(index=["task", "metric"], columns="lang", values="value", aggfunc="first")
    table = table[ordered(table.columns)]
    table["mean"] = table.mean(axis=1)
    order = list(dict.fromkeys(s["task"] for s in rows))
    return table.reindex(order, level=0)


def print_table(scores: list[dict], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = score_table(scores)
    console = Console()
    if table.empty:
        console.print("no scores")
        return
    console.width = max(console.width, 30 + 8 * len(table.columns))
    out = Table(title=title or "primary metric by task and language (0-100)")
    out.add_column("task")
    out.add_column("metric")
    for col in table.columns:
        out.add_column(str(col), justify="right")
    for (task, metric), row in table.iterrows():
        out.add_row(str(task), str(metric), *("-" if v != v else f"{v:.1f}" for v in row))
    console.print(out)
