"""The runner: plan (task, language) units from packs and data, send their requests
to an lm-eval model, and write the run directory.

Everything that can fail on bad input (packs, data, flags) is checked while planning,
before the model is loaded.
"""

from __future__ import annotations

import platform
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from harness import __version__, data, models, packs, scoring
from harness.errors import OctoglotError
from harness.languages import Language
from harness.records import FORMAT_VERSION, Sample, SampleResult, write_json, write_samples
from harness.sampling import seeded_subset
from harness.tasks import FAMILIES, TaskDef

CHUNK_SAMPLES = 16  # samples per model call: the unit of progress and of failure
SECRET_HINTS = ("key", "token", "secret", "password")


@dataclass
class RunConfig:
    model: str
    model_args: str | None
    tasks: list[TaskDef]
    langs: list[Language]
    limit: int | None
    seed: int
    output: Path
    data_dir: str | None
    batch_size: int = 8
    device: str = "cpu"
    command: list[str] = field(default_factory=lambda: list(sys.argv))


@dataclass
class Unit:
    task: TaskDef
    lang: str
    samples: list[Sample]
    info: dict  # recorded in the manifest


def prompt_hash(task: TaskDef, version: int, literals: dict) -> str:
    return packs.content_hash({"task": task.id, "version": version, "template": task.template,
                               "literals": literals})[:16]


def plan(config: RunConfig) -> tuple[list[Unit], list[str]]:
    """Build every unit's samples. Returns the units and the (task, lang) pairs skipped."""
    data_dir = data.resolve_data_dir(config.data_dir)
    units, skipped = [], []
    for task in config.tasks:
        for lang in config.langs:
            pack = packs.load_pack(lang.code)
            source = packs.pack_path(lang)
            entry = pack.tasks.get(task.id)
            if entry is None:
                skipped.append(f"{task.id}/{lang.code}")
                continue
            literals = packs.require_literals(pack, task.literals, source, task.id)
            loaded = data.load_task_data(entry, data_dir, task.columns)
            samples = seeded_subset(task.build(loaded.rows, literals, lang.code), config.limit, config.seed)
            info = {
                "task": task.id, "lang": lang.code, "family": task.family, "task_version": entry.version,
                "pack_version": pack.version, "prompt_hash": prompt_hash(task, entry.version, literals),
                "data": loaded.provenance, "n_items": len(loaded.rows), "n_samples": len(samples),
            }
            units.append(Unit(task, lang.code, samples, info))
    if not units:
        raise OctoglotError("no (task, language) pair to run: none of the chosen languages has these tasks")
    return units, skipped


def new_run_dir(output: Path, model: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
    try:
        output.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            run_dir = output / (f"{safe}-{stamp}" + (f"-{n}" if n else ""))
            try:
                run_dir.mkdir()
                return run_dir
            except FileExistsError:
                continue
    except OSError as exc:
        raise OctoglotError(f"--output: cannot create a run directory in '{output}': {exc.strerror}") from None
    raise OctoglotError(f"--output: too many runs named {safe}-{stamp} in '{output}'")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("lm-eval", "transformers", "torch", "datasets", "sacrebleu", "langdetect", "pandas"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def public_args(args: dict[str, str]) -> dict[str, str]:
    """Model args with anything that looks like a credential removed."""
    return {k: ("<redacted>" if any(h in k.lower() for h in SECRET_HINTS) else v) for k, v in args.items()}


def score_unit(lm, unit: Unit, on_progress) -> list[SampleResult]:
    from lm_eval.api.instance import Instance

    family = FAMILIES[unit.task.family]
    results: list[SampleResult] = []
    for start in range(0, len(unit.samples), CHUNK_SAMPLES):
        chunk = unit.samples[start:start + CHUNK_SAMPLES]
        pairs = [(s, pair) for s in chunk for pair in family.requests(s)]
        instances = [Instance("loglikelihood", {}, pair, i) for i, (_, pair) in enumerate(pairs)]
        try:
            outputs = lm.loglikelihood(instances, disable_tqdm=True)
            error = None
        except Exception as exc:  # recorded on every sample of the chunk, never scored
            outputs, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        offset = 0
        for sample in chunk:
            k = len(sample.choices)
            result = SampleResult(sample.id, sample.prompt_hash, sample.target)
            if error is None:
                result.loglikelihoods = [float(ll) for ll, _ in outputs[offset:offset + k]]
                result.metrics = family.score(sample, result.loglikelihoods)
            else:
                result.error = error
            offset += k
            results.append(result)
        on_progress(len(pairs))
    return results


def execute(config: RunConfig) -> tuple[Path, list[dict], int]:
    """Run everything; returns the run directory, the score rows and the number of failed samples."""
    started = time.time()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if config.limit is not None and config.limit < 1:
        raise OctoglotError(f"--limit: expected a positive integer, got {config.limit}")
    models.parse_model_args(config.model_args)  # bad flags fail before any data is read
    units, skipped = plan(config)
    spec = models.resolve(config.model, config.model_args)
    run_dir = new_run_dir(config.output, config.model)

    random.seed(config.seed)
    import torch

    torch.manual_seed(config.seed)
    lm = models.load(spec, config.batch_size, config.device)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    total = sum(len(s.choices) for u in units for s in u.samples)
    scores: list[dict] = []
    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("requests"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        bar = progress.add_task("scoring", total=total)
        for unit in units:
            progress.update(bar, description=f"{unit.task.id}/{unit.lang}")
            results = score_unit(lm, unit, lambda n: progress.advance(bar, n))
            write_samples(run_dir, unit.lang, unit.task.id, results)
            unit.info["n_errors"] = sum(r.error is not None for r in results)
            failed += unit.info["n_errors"]
            scores += scoring.aggregate(unit.task.id, unit.lang, results, unit.task.metrics)

    manifest = {
        "format_version": FORMAT_VERSION,
        "harness": {"name": "octoglot", "version": __version__},
        "created": created,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": config.command,
        "model": {"name": config.model, "backend": spec.backend, "args": public_args(spec.args),
                  "identity": spec.identity, "batch_size": config.batch_size, "device": config.device},
        "versions": versions(),
        "seeds": {"sampling": config.seed, "python": config.seed, "torch": config.seed},
        "limit": config.limit,
        "data_dir": str(data.resolve_data_dir(config.data_dir).path) if data.resolve_data_dir(config.data_dir)
        else None,
        "scoring_path": "lm-eval loglikelihood (one request per option)",
        "units": [u.info for u in units],
        "skipped": skipped,
        "wall_seconds": round(time.time() - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    write_json(run_dir / "results.json", {"format_version": FORMAT_VERSION, "scores": scores,
                                          "errors": {f"{u.task.id}/{u.lang}": u.info["n_errors"] for u in units}})
    write_json(run_dir / "manifest.json", manifest)
    return run_dir, scores, failed
