"""The task registry: what ``--tasks`` and ``--suite`` accept.

A task id names a family (the module that prompts and scores) and a dataset
adapter; packs say which languages have it, at which version, from which data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harness.errors import OctoglotError
from harness.families import multiple_choice
from harness.languages import suggest


@dataclass(frozen=True)
class TaskDef:
    id: str
    family: str
    description: str
    build: Callable  # (rows, literals, lang) -> list[Sample]
    template: str  # prompt template; hashed into the prompt hash
    literals: tuple[str, ...]  # pack literals the task needs
    columns: tuple[str, ...]  # columns every data row must have
    parallel: bool  # items share ids across languages
    metrics: tuple[str, ...]
    primary: str


TASKS: dict[str, TaskDef] = {
    "sib200": TaskDef(
        id="sib200",
        family="multiple_choice",
        description="SIB-200 topic classification (7 topics, FLORES sentences), log-likelihood",
        build=multiple_choice.sib200_samples,
        template=multiple_choice.SIB200_TEMPLATE,
        literals=multiple_choice.SIB200_LITERALS,
        columns=multiple_choice.SIB200_COLUMNS,
        parallel=True,
        metrics=("acc", "acc_norm"),
        primary="acc",
    ),
}

FAMILIES = {"multiple_choice": multiple_choice}

# Suites: task ids and the per-task item limit they run with (None: all items).
SUITES: dict[str, tuple[tuple[str, ...], int | None]] = {
    "quick": (("sib200",), 20),
    "core": (("sib200",), None),
}


def get_task(task_id: str) -> TaskDef:
    if task_id not in TASKS:
        raise OctoglotError(
            f"--tasks: unknown task '{task_id}'.{suggest(task_id, list(TASKS))} Available: {', '.join(TASKS)}"
        )
    return TASKS[task_id]


def parse_tasks(spec: str | None) -> list[TaskDef]:
    if not spec:
        return []
    out = []
    for part in spec.split(","):
        if part.strip() and get_task(part.strip()) not in out:
            out.append(get_task(part.strip()))
    return out


def get_suite(name: str) -> tuple[list[TaskDef], int | None]:
    if name not in SUITES:
        raise OctoglotError(
            f"--suite: unknown suite '{name}'.{suggest(name, list(SUITES))} Available: {', '.join(SUITES)}"
        )
    ids, limit = SUITES[name]
    return [TASKS[i] for i in ids], limit
