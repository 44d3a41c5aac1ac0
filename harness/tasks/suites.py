"""Named suites for ``--suite``: which tasks, and how many items of each.

What is offline and what needs the hub is read from the packs, not listed: a task is offline when some pack
reads it from a local file, hub-only when every pack that has it reads it from the hub.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.core.errors import OctoglotError
from harness.core.languages import suggest
from harness.tasks.definition import TaskDef
from harness.tasks.packs import all_packs
from harness.tasks.registry import all_tasks


@dataclass(frozen=True)
class Suite:
    source: str  # "local" (tasks some pack reads from a local file) or "hub" (hub-only tasks)
    limits: dict[str, int | None]  # items per (task, language) by task kind; None: every item
    description: str
    long_context: bool = True  # include the tasks sized in the model's tokens (TaskDef.sized)


SUITES: dict[str, Suite] = {
    "quick": Suite("local", {"loglikelihood": 20, "generate": 2},
                   "every offline task in every language it covers, 20 items (log-likelihood) or 2 (generation); "
                   "not the long-context tasks (minutes per prompt on a CPU)", long_context=False),
    "core": Suite("local", {"loglikelihood": None, "generate": None}, "all offline data in full"),
    "hub": Suite("hub", {"loglikelihood": None, "generate": None}, "the hub-only tasks in full (needs the hub)"),
}


def offline_tasks() -> list[TaskDef]:
    """Tasks some pack reads from a local file, in registry order."""
    packs = all_packs().values()
    return [t for t in all_tasks().values() if any(t.id in p.tasks and p.tasks[t.id].local for p in packs)]


def hub_only_tasks() -> list[TaskDef]:
    """Tasks that some pack has and every pack that has them reads from the hub."""
    packs = all_packs().values()
    return [t for t in all_tasks().values()
            if any(t.id in p.tasks for p in packs) and not any(t.id in p.tasks and p.tasks[t.id].local for p in packs)]


def get_suite(name: str) -> tuple[list[TaskDef], dict[str, int | None]]:
    """The suite's tasks and the item limit of each."""
    if name not in SUITES:
        raise OctoglotError(f"--suite: unknown suite '{name}'.{suggest(name, list(SUITES))} "
                            f"Available: {', '.join(SUITES)}")
    suite = SUITES[name]
    chosen = offline_tasks() if suite.source == "local" else hub_only_tasks()
    if not suite.long_context:
        chosen = [t for t in chosen if not t.sized]
    return chosen, {t.id: suite.limits[t.kind] for t in chosen}
