"""Executing a run: plan it, send its requests to one model (or to Ray actors), write every unit's sample
records as it finishes, and the manifest. Scores are computed from these by ``harness.scoring``.

``--resume`` continues an interrupted run in its directory with the settings it was started with: finished
units are kept when their stored records are the planned items with the planned prompts (anything else is
refused with an error naming the unit), and the response cache answers what the interrupted run had finished.
"""

from __future__ import annotations

import json
import platform
import resource
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from harness import __version__
from harness.core import backend_verdicts, langid
from harness.core.credentials import redact
from harness.core.errors import OctoglotError
from harness.core.records import FORMAT_VERSION, SampleResult, read_records, sample_path, write_json, write_samples
from harness.execution import models, progress
from harness.execution.cache import model_key
from harness.execution.plan import RunConfig, Unit, check_limits, limit_for, plan
from harness.execution.worker import ModelSettings, Worker, run_locally
from harness.tasks import data

CONFIG_FILE = "run_config.json"


@dataclass
class Executed:
    """A finished execution: the run directory, its units and each unit's sample results (same order)."""
    run_dir: Path
    units: list[Unit]
    results: list[list[SampleResult]]
    manifest: dict

    @property
    def failed(self) -> int:
        return sum(r.error is not None for results in self.results for r in results)


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


def resume_config(run_dir: Path) -> RunConfig:
    """The configuration a run directory was started with, to continue it."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise OctoglotError(f"--resume: {run_dir} has no {CONFIG_FILE} (not an octoglot run directory)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OctoglotError(f"--resume: {path}: invalid JSON: {exc.msg}") from None
    if raw.get("format_version", 0) > FORMAT_VERSION:
        raise OctoglotError(f"--resume: {run_dir}: format version {raw['format_version']} is newer than this "
                            f"octoglot reads ({FORMAT_VERSION})")
    return RunConfig.from_json(raw)


def finished_results(run_dir: Path, unit: Unit) -> list[SampleResult] | None:
    """The stored records of a unit an earlier (interrupted) run finished. None when there are none; an error
    naming the unit when they are not the planned items with the planned prompts (the pack, the data or
    octoglot changed since): a resumed run never mixes two prompts in one unit."""
    path = sample_path(run_dir, unit.lang, unit.task.id)
    if not path.is_file():
        return None
    where = f"--resume: unit {unit.task.id}/{unit.lang} ({path})"
    try:
        results = [SampleResult.from_record(record) for record in read_records(path, where)]
    except TypeError as exc:
        raise OctoglotError(f"{where}: not an octoglot sample record: {exc}") from None
    stored, planned = [r.id for r in results], [s.id for s in unit.samples]
    if stored != planned:
        raise OctoglotError(f"{where}: stored items differ from the plan ({len(stored)} stored, {len(planned)} "
                            f"planned); start a new run")
    for result, sample in zip(results, unit.samples):
        if result.prompt_hash != sample.prompt_hash:
            raise OctoglotError(f"{where}: item {sample.id} was stored with prompt hash {result.prompt_hash}, the "
                                f"plan has {sample.prompt_hash} (pack or data changed); start a new run")
    return results


def unit_facts(unit: Unit, worker: Worker) -> dict:
    """What decides a unit's answers besides the prompt: generation settings (as the worker applies them: chat
    template, --samples, --temperature) and the language detector."""
    if unit.task.kind != "generate":
        return {"generation": None, "langid": None}
    settings = list(dict.fromkeys(worker.generation(unit.task, s) for s in unit.samples))
    facts = [g.facts(worker.chat) for g in settings]
    out = {"generation": facts[0] if len(facts) == 1 else facts, "langid": langid.current_detector()}
    if unit.task.messages is not None:
        out["tool_format"] = worker.tool_format(unit.task)
    return out


def execute(config: RunConfig, resume: Path | None = None,
            describe: Callable[[Unit, list[SampleResult]], str] | None = None) -> Executed:
    """Run everything and write the sample records and the manifest (not the scores: ``harness.scoring``).
    ``describe(unit, results)``: a line the progress output shows as each unit finishes (its score)."""
    started = time.time()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    check_limits(config)
    models.parse_model_args(config.model_args)  # bad flags fail before any data is read
    units, skipped = plan(config)
    data_dir = data.resolve_data_dir(config.data_dir)
    settings = ModelSettings.of(config)
    worker = Worker(settings)
    spec = worker.spec
    models.check_endpoint(spec)  # an unreachable base_url fails here, not once per request
    if config.executor == "ray" and config.ray_address:
        from harness.execution.ray_executor import check_reachable

        check_reachable(config.ray_address)  # so does an unreachable Ray head
    results_of: dict[int, list[SampleResult]] = {}
    if resume:  # stored records that do not match the plan fail here, before anything is written
        for unit in units:
            results = finished_results(resume, unit)
            if results is not None:
                results_of[id(unit)] = results
    run_dir = resume or new_run_dir(config.output, config.model)
    write_json(run_dir / CONFIG_FILE, {"format_version": FORMAT_VERSION, **config.to_json()})
    kept = f" (finished units and cached requests are kept: octoglot run --resume {run_dir})"

    def on_unit(unit: Unit, results: list[SampleResult]) -> None:
        try:
            write_samples(run_dir, unit.lang, unit.task.id, results)
        except OSError as exc:  # disk full, say: what is finished stays
            raise OctoglotError(f"{exc.filename or sample_path(run_dir, unit.lang, unit.task.id)}: "
                                f"{exc.strerror or exc}{kept}") from None
        results_of[id(unit)] = results
        if describe is not None:
            bars.print(describe(unit, results))

    executor = {"name": config.executor}
    with progress.progress() as bars:
        todo = [u for u in units if id(u) not in results_of]
        try:
            if config.executor == "ray":
                from harness.execution import ray_executor

                worker.close()
                executor, counts = ray_executor.run(settings, todo, bars, on_unit, config.ray_address,
                                                    config.ray_workers, config.device)
                worker.engine.counts = counts
            else:
                run_locally(worker, todo, bars, on_unit)
        except OctoglotError as exc:
            message = str(exc)
            raise OctoglotError(message if message.endswith(kept) else f"{message}{kept}") from None
    results = [results_of[id(unit)] for unit in units]
    for unit, unit_results in zip(units, results):
        unit.info["n_errors"] = sum(r.error is not None for r in unit_results)
        unit.info.update(unit_facts(unit, worker))

    worker.close()
    check = backend_verdicts.stored(model_key(spec.backend, spec.args, spec.identity))
    manifest = {
        "format_version": FORMAT_VERSION,
        "harness": {"name": "octoglot", "version": __version__},
        "created": created,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": config.command,
        "model": {"name": config.model, "backend": spec.backend, "args": redact(spec.args),
                  "identity": spec.identity, "batch_size": config.batch_size, "device": config.device,
                  "chat_template": worker.chat},
        "versions": versions(),
        "seeds": {"sampling": config.seed, "python": config.seed, "torch": config.seed, "langdetect": 0},
        "langid": {"detector": langid.current_detector()},
        "limit": {t.id: limit_for(config, t.id) for t in config.tasks},
        "data_dir": str(data_dir.path) if data_dir else None,
        "executor": executor,
        "sandbox": worker.sandbox.describe() if any(u.task.execute for u in units) else None,
        "backend_check": backend_verdicts.summary(check) if check else None,
        "requests": asdict(worker.engine.counts),
        "response_cache": str(worker.cache.db_path) if worker.cache else None,
        "units": [u.info for u in units],
        "skipped": skipped,
        "wall_seconds": round(time.time() - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    write_json(run_dir / "manifest.json", manifest)
    return Executed(run_dir, units, results, manifest)
