"""Markdown output: the one escaper for table cells and the one table writer of every report."""

from __future__ import annotations

import html


def md_escape(text: object) -> str:
    """Text for one Markdown table cell: HTML specials, backslash and ``|`` escaped (so ``\\|`` in the text
    cannot end the cell), line breaks as ``<br>``."""
    out = html.escape(str(text), quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def md_table(header: list[str], rows: list[list[object]], align: str | None = None) -> list[str]:
    """The lines of a Markdown table, every cell escaped; ``align``: one of ``l r`` per column (default: none)."""
    rule = "|" + "".join({"l": ":---|", "r": "---:|"}.get(a, "---|") for a in (align or "-" * len(header)))
    return ["| " + " | ".join(md_escape(h) for h in header) + " |", rule,
            *("| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in rows)]
