"""The task registry: every task the family modules declare, and what ``--tasks`` accepts.

Families are found, not listed: every module of the package ``harness.tasks.families``, then the modules named
in ``$OCTOGLOT_FAMILIES`` (comma-separated import names, for families that live outside this repository). Each
has a ``TASKS`` tuple of ``TaskDef``. A task id declared twice is refused, naming both modules.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from functools import cache
from types import ModuleType

from harness.core.errors import OctoglotError
from harness.core.languages import suggest
from harness.tasks.definition import TaskDef

FAMILIES_ENV = "OCTOGLOT_FAMILIES"
BUILTIN = "harness.tasks.families"


class Registry:
    def __init__(self) -> None:
        self.tasks: dict[str, TaskDef] = {}

    def add_family(self, module: ModuleType) -> None:
        declared = getattr(module, "TASKS", None)
        if not isinstance(declared, (tuple, list)) or not all(isinstance(t, TaskDef) for t in declared):
            raise OctoglotError(f"family module {module.__name__}: expected TASKS, a tuple of TaskDef")
        for task in declared:
            self.add(task, module.__name__)

    def add(self, task: TaskDef, family: str) -> None:
        if task.id in self.tasks:
            raise OctoglotError(f"task '{task.id}' is declared twice: by {self.tasks[task.id].family} and by {family}")
        object.__setattr__(task, "family", family)  # frozen: the registry alone records where it came from
        self.tasks[task.id] = task

    def get(self, task_id: str, where: str = "--tasks") -> TaskDef:
        if task_id not in self.tasks:
            raise OctoglotError(f"{where}: unknown task '{task_id}'.{suggest(task_id, list(self.tasks))} "
                                f"Available: {', '.join(self.tasks)}")
        return self.tasks[task_id]

    def parse(self, spec: str | None) -> list[TaskDef]:
        """A comma-separated ``--tasks`` value, in the order given, each task once."""
        out: list[TaskDef] = []
        for part in (spec or "").split(","):
            if part.strip() and self.get(part.strip()) not in out:
                out.append(self.get(part.strip()))
        return out

    def literal_names(self) -> set[str]:
        """Every pack literal some registered task needs: the names a pack may define."""
        return {name for task in self.tasks.values() for name in (*task.literals, *task.english_literals, *task.optional_literals)}


def family_modules() -> list[str]:
    """The import names of the family modules: the built-in package's, then ``$OCTOGLOT_FAMILIES``'."""
    package = importlib.import_module(BUILTIN)
    builtin = sorted(f"{BUILTIN}.{info.name}" for info in pkgutil.iter_modules(package.__path__))
    extra = [name.strip() for name in os.environ.get(FAMILIES_ENV, "").split(",") if name.strip()]
    return builtin + [name for name in extra if name not in builtin]


@cache
def registry() -> Registry:
    found = Registry()
    for name in family_modules():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise OctoglotError(f"${FAMILIES_ENV}: cannot import family module '{name}': {exc}") from None
        found.add_family(module)
    return found


def get_task(task_id: str, where: str = "--tasks") -> TaskDef:
    return registry().get(task_id, where)


def parse_tasks(spec: str | None) -> list[TaskDef]:
    return registry().parse(spec)


def all_tasks() -> dict[str, TaskDef]:
    return registry().tasks
