"""Tables from stored score rows (results.json ``scores``)."""

from __future__ import annotations

from harness.languages import ALL_CODES


def score_table(scores: list[dict], metric: str = "acc"):
    """A task × language pandas table of one metric, languages in the canonical order."""
    import pandas as pd

    frame = pd.DataFrame([s for s in scores if s["metric"] == metric])
    if frame.empty:
        return frame
    table = frame.pivot_table(index="task", columns="lang", values="value", aggfunc="first")
    ordered = [c for c in ALL_CODES if c in table.columns]
    table = table[ordered]
    table["mean"] = table.mean(axis=1)
    return table


def print_table(scores: list[dict], metric: str = "acc", title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = score_table(scores, metric)
    if table.empty:
        Console().print(f"no '{metric}' scores")
        return
    out = Table(title=title or f"{metric} by task and language")
    console = Console()
    console.width = max(console.width, 16 + 9 * len(table.columns))
    out.add_column("task")
    for col in table.columns:
        out.add_column(str(col), justify="right")
    for task, row in table.iterrows():
        out.add_row(str(task), *("-" if v != v else f"{v:.3f}" for v in row))
    console.print(out)
