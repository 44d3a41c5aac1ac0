"""The terminal table at the end of a run: each task's primary metric by language, on a 0-100 scale
(accuracies and rates × 100; chrF++ and BLEU as sacrebleu reports them)."""

from __future__ import annotations

from harness.languages import ALL_CODES

HUNDRED_SCALE = ("chrf++", "bleu", "chrf")


def score_table(scores: list[dict], metrics: dict[str, str] | None = None):
    """A task × language pandas table of each task's primary metric (``metrics``: task -> metric)."""
    import pandas as pd

    if metrics is None:
        from harness.tasks import TASKS

        metrics = {task: definition.primary for task, definition in TASKS.items()}
    rows = [dict(s, value=s["value"] * (1 if s["metric"] in HUNDRED_SCALE else 100)) for s in scores
            if metrics.get(s["task"]) == s["metric"]]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    table = frame.pivot_table(index=["task", "metric"], columns="lang", values="value", aggfunc="first")
    table = table[[c for c in ALL_CODES if c in table.columns]]
    table["mean"] = table.mean(axis=1)
    order = [t for t in metrics if t in table.index.get_level_values(0)]
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
