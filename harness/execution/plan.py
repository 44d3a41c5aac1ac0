"""Planning a run: (task, language) units with their samples, from packs and data, before any model is loaded.

Everything that can fail on bad input (packs, data, flags) fails here, with a one-line error.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.errors import OctoglotError
from harness.core.languages import Language, get_language
from harness.core.records import Sample
from harness.core.sampling import seeded_subset
from harness.execution import sized
from harness.tasks import data, packs
from harness.tasks.definition import TaskDef
from harness.tasks.registry import get_task


@dataclass
class RunConfig:
    model: str
    model_args: str | None
    tasks: list[TaskDef]
    langs: list[Language]
    limit: int | None | dict[str, int | None]  # one limit for all tasks, or one per task id
    seed: int
    output: Path
    data_dir: str | None
    batch_size: int = 8
    device: str = "cpu"
    chat_template: bool | None = None  # None: on for instruct aliases, off otherwise
    use_cache: bool = True  # the model-keyed response cache
    shared_prefix: bool = True  # score options that share a context from one pass (hf backend)
    executor: str = "local"  # "local" (this process) or "ray" (harness.execution.ray_executor)
    ray_address: str | None = None  # an existing Ray cluster; None starts a local one
    ray_workers: int | None = None  # model instances (Ray actors); None: one per GPU, or per CPU on a CPU
    draws: int = 1  # --samples: responses per sample (code tasks; pass@k)
    temperature: float | None = None  # --temperature for the draws
    sandbox: str = "bubblewrap"  # where model-written programs run; "unsafe" with --unsafe-exec
    local_only: bool = False  # an offline suite: a (task, language) only on the hub is skipped, not fetched
    context_lengths: tuple[int, ...] | None = None  # --context-lengths for sized tasks (None: each task's default)
    command: list[str] = field(default_factory=lambda: list(sys.argv))

    def to_json(self) -> dict:
        return {"model": self.model, "model_args": self.model_args, "tasks": [t.id for t in self.tasks],
                "langs": [lang.code for lang in self.langs], "limit": self.limit, "seed": self.seed,
                "output": str(self.output), "data_dir": self.data_dir, "batch_size": self.batch_size,
                "device": self.device, "chat_template": self.chat_template, "use_cache": self.use_cache,
                "shared_prefix": self.shared_prefix, "executor": self.executor, "ray_address": self.ray_address,
                "ray_workers": self.ray_workers, "draws": self.draws, "temperature": self.temperature,
                "sandbox": self.sandbox, "local_only": self.local_only,
                "context_lengths": list(self.context_lengths) if self.context_lengths else None}

    @classmethod
    def from_json(cls, raw: dict) -> "RunConfig":
        return cls(model=raw["model"], model_args=raw["model_args"], tasks=[get_task(t) for t in raw["tasks"]],
                   langs=[get_language(c) for c in raw["langs"]], limit=raw["limit"], seed=raw["seed"],
                   output=Path(raw["output"]), data_dir=raw["data_dir"], batch_size=raw["batch_size"],
                   device=raw["device"], chat_template=raw["chat_template"], use_cache=raw["use_cache"],
                   shared_prefix=raw["shared_prefix"], executor=raw.get("executor", "local"),
                   ray_address=raw.get("ray_address"), ray_workers=raw.get("ray_workers"),
                   draws=raw.get("draws", 1), temperature=raw.get("temperature"),
                   sandbox=raw.get("sandbox", "bubblewrap"), local_only=raw.get("local_only", False),
                   context_lengths=tuple(raw["context_lengths"]) if raw.get("context_lengths") else None)


@dataclass
class Unit:
    task: TaskDef
    lang: str
    samples: list[Sample]
    info: dict  # recorded in the manifest


def prompt_hash(task: TaskDef, version: int, literals: dict) -> str:
    return packs.content_hash({"task": task.id, "version": version, "template": task.template,
                               "literals": literals})[:16]


def limit_for(config: RunConfig, task_id: str) -> int | None:
    return config.limit.get(task_id) if isinstance(config.limit, dict) else config.limit


def check_limits(config: RunConfig) -> None:
    for task in config.tasks:
        limit = limit_for(config, task.id)
        if limit is not None and limit < 1:
            raise OctoglotError(f"--limit: expected a positive integer, got {limit}")
    if config.draws < 1:
        raise OctoglotError(f"--samples: expected a positive integer, got {config.draws}")
    if config.draws > 1:
        single = [t.id for t in config.tasks if t.combine is None]
        if single:
            raise OctoglotError(f"--samples {config.draws}: {', '.join(single)} take(s) one response per item; "
                                "only tasks that combine several (code: pass@k) take --samples")
        if not config.temperature or config.temperature <= 0:
            raise OctoglotError(f"--samples {config.draws}: needs --temperature above 0 (greedy draws are all the "
                                "same)")


def task_literals(task: TaskDef, pack: packs.Pack, source: str) -> dict:
    """The literals ``task`` declared, from its language's pack, and its English ones under ``"english"``."""
    literals = packs.require_literals(pack, task.literals, source, task.id)
    literals.update({name: pack.literals[name] for name in task.optional_literals if name in pack.literals})
    if task.english_literals:
        english = get_language("en")
        literals["english"] = packs.require_literals(packs.load_pack(english.code), task.english_literals,
                                                     packs.pack_path(english), task.id)
    return literals


def plan(config: RunConfig) -> tuple[list[Unit], list[str]]:
    """Build every unit's samples. Returns the units and the (task, lang) pairs skipped: the language has no such
    task, or (an offline suite) has it only on the hub."""
    data_dir = data.resolve_data_dir(config.data_dir)
    units, skipped = [], []
    for task in config.tasks:
        for lang in config.langs:
            pack = packs.load_pack(lang.code)
            source = packs.pack_path(lang)
            entry = pack.tasks.get(task.id)
            if entry is None or (config.local_only and entry.local is None):
                skipped.append(f"{task.id}/{lang.code}")
                continue
            literals = task_literals(task, pack, source)
            loaded = data.load_task_data(entry, data_dir, task.columns, where=f"{task.id} ({lang.code})")
            extras = data.load_extras(entry, data_dir)
            extra_rows = {k: v.rows for k, v in extras.items()}
            context = None
            if task.sized:
                sizing, context = sized.sizing(config, task, lang.code, data_dir, limit_for(config, task.id))
                if sizing.skipped:  # lengths beyond the model's window: listed, never failed
                    window = context["tokenizer"]["window"]
                    every = "every length" if not sizing.lengths else "lengths"
                    skipped.append(f"{task.id}/{lang.code}: {every} beyond the model's window of {window} "
                                   f"tokens ({', '.join(map(str, sizing.skipped))})")
                if not sizing.lengths:
                    continue
                samples = task.build(loaded.rows, literals, lang.code, extra_rows, sizing)
                built = {s.meta.get("length") for s in samples}
                unfit = [n for n in sizing.lengths if n not in built]
                if unfit:  # too short for the task's smallest prompt in this language's tokens: listed, not failed
                    context["unfit_lengths"] = unfit
                    skipped.append(f"{task.id}/{lang.code}: too short for the task's smallest prompt in the model's "
                                   f"tokens ({', '.join(map(str, unfit))})")
                if not samples:
                    continue
            else:
                rows = task.build(loaded.rows, literals, lang.code, extra_rows)
                samples = seeded_subset(rows, limit_for(config, task.id), config.seed, task.limit_per)
            provenance = dict(loaded.provenance)
            if extras:
                provenance["extra"] = {role: v.provenance for role, v in extras.items()}
            info = {
                "task": task.id, "lang": lang.code, "family": task.family, "kind": task.kind,
                "parallel": task.parallel, "task_version": entry.version, "pack_version": pack.version,
                "prompt_hash": prompt_hash(task, entry.version, literals), "data": provenance,
                "n_items": len(loaded.rows), "n_samples": len(samples),
                "draws": config.draws if task.combine is not None else 1,
            }
            if context is not None:
                info["context"] = context
            units.append(Unit(task, lang.code, samples, info))
    if not units:
        raise OctoglotError("no (task, language) pair to run: none of the chosen languages has these tasks")
    return units, skipped
