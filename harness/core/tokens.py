"""Token budgets: what a task that sizes its prompts in the model's own tokens (long context) is given, and the
``--context-lengths`` values.

A ``Sizer`` counts tokens the way the model will see them. Execution makes one from the model under test
(``harness.execution.tokenizer``); tasks only ask it questions, so the task layer never loads a model. A length is
the whole request: the prompt as sent (chat template and special tokens included) plus the room left for the
answer (the task's ``max_new_tokens``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from harness.core.errors import OctoglotError

_LENGTH = re.compile(r"^\s*(\d+)\s*([kKmM]?)\s*$")


def parse_length(text: str, where: str = "--context-lengths") -> int:
    """``"4k"`` -> 4096, ``"128k"`` -> 131072 (RULER's powers of two; Llama 3.1's 128K is 131,072 tokens),
    ``"1m"`` -> 1048576, ``"3000"`` -> 3000."""
    match = _LENGTH.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise OctoglotError(f"{where}: expected a token count such as 4k, 128k or 3000, got '{text}'")
    unit = {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2).lower()]
    return int(match.group(1)) * unit


def parse_lengths(text: str | Sequence[int] | None, where: str = "--context-lengths") -> tuple[int, ...] | None:
    """A comma-separated list of lengths, ascending and without repeats; None stays None (the task's default)."""
    if text is None:
        return None
    parts = [p for p in text.split(",") if p.strip()] if isinstance(text, str) else list(text)
    if not parts:
        raise OctoglotError(f"{where}: expected at least one length such as 4k")
    lengths = [p if isinstance(p, int) else parse_length(p, where) for p in parts]
    return tuple(sorted(set(lengths)))


def format_length(tokens: int) -> str:
    """4096 -> "4k", 131072 -> "128k", 3000 -> "3000"."""
    return f"{tokens // 1024}k" if tokens % 1024 == 0 else str(tokens)


class Sizer(Protocol):
    """The model's tokenizer as a task needs it."""

    window: int  # the model's context window in tokens (prompt + answer)

    def facts(self) -> dict:
        """What a run records of the tokenizer (identity, window, chat template on or off)."""

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """The character span of every token of plain text (no special tokens, no chat template)."""

    def count(self, message: str) -> int:
        """Tokens of a user message as the model receives it (chat template and special tokens included)."""


@dataclass(frozen=True)
class Sizing:
    """What a sized task's builder is given besides its rows and literals."""

    sizer: Sizer
    lengths: tuple[int, ...]  # the lengths to build, already within the model's window
    seed: int
    limit: int | None = None  # items per length (a seeded choice of ids, the same in every language)
    skipped: tuple[int, ...] = field(default=())  # asked-for lengths beyond the window (listed, never failed)
