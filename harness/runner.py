"""The runner: plan (task, language) units from packs and data, send their requests
to an lm-eval model, and write the run directory.

Everything that can fail on bad input (packs, data, flags) is checked while planning,
before the model is loaded.
"""

from __future__ import annotations

import json
import platform
import random
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from harness import __version__, backend_check, data, langid, models, packs, scoring
from harness.errors import OctoglotError
from harness.languages import Language
from harness.cache import ResponseCache, default_path, model_key
from harness.engine import Engine
from harness.records import FORMAT_VERSION, Sample, SampleResult, sample_path, write_json, write_samples
from harness.sampling import seeded_subset
from harness.tasks import FAMILIES, TaskDef, check_pack

CHUNK_SAMPLES = 16  # samples per model call: the unit of progress and of failure
PREFETCH_REQUESTS = 64  # generation requests sent together across units, so batches are full
SECRET_HINTS = ("key", "token", "secret", "password")


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
    executor: str = "local"  # "local" (this process) or "ray" (harness.ray_executor)
    ray_address: str | None = None  # an existing Ray cluster; None starts a local one
    ray_workers: int | None = None  # model instances (Ray actors); None: one per GPU, or per CPU on a CPU
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


def limit_for(config: RunConfig, task_id: str) -> int | None:
    return config.limit.get(task_id) if isinstance(config.limit, dict) else config.limit


def plan(config: RunConfig) -> tuple[list[Unit], list[str]]:
    """Build every unit's samples. Returns the units and the (task, lang) pairs skipped."""
    data_dir = data.resolve_data_dir(config.data_dir)
    units, skipped = [], []
    for task in config.tasks:
        for lang in config.langs:
            pack = packs.load_pack(lang.code)
            source = packs.pack_path(lang)
            check_pack(pack, source)
            entry = pack.tasks.get(task.id)
            if entry is None:
                skipped.append(f"{task.id}/{lang.code}")
                continue
            literals = packs.require_literals(pack, task.literals, source, task.id)
            loaded = data.load_task_data(entry, data_dir, task.columns)
            extras = data.load_extras(entry, data_dir)
            rows = task.build(loaded.rows, literals, lang.code, {k: v.rows for k, v in extras.items()})
            samples = seeded_subset(rows, limit_for(config, task.id), config.seed)
            provenance = dict(loaded.provenance)
            if extras:
                provenance["extra"] = {role: v.provenance for role, v in extras.items()}
            info = {
                "task": task.id, "lang": lang.code, "family": task.family, "task_version": entry.version,
                "pack_version": pack.version, "prompt_hash": prompt_hash(task, entry.version, literals),
                "data": provenance, "n_items": len(loaded.rows), "n_samples": len(samples),
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


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def loglikelihood_chunk(engine: Engine, family, chunk: list[Sample]) -> list[SampleResult]:
    try:
        outputs, error = engine.loglikelihood([family.requests(s) for s in chunk]), None
    except OctoglotError:  # not the model's failure (the response cache could not be written): stop the run
        raise
    except Exception as exc:  # recorded on the sample that failed, never scored
        if len(chunk) > 1:  # one failed request must not fail its neighbours: ask for each sample alone
            return [r for sample in chunk for r in loglikelihood_chunk(engine, family, [sample])]
        outputs, error = None, _first_line(exc)
    results = []
    for i, sample in enumerate(chunk):
        result = SampleResult(sample.id, sample.prompt_hash, sample.target)
        if error is None:
            result.loglikelihoods = [float(ll) for ll, _ in outputs[i]]
            result.metrics = family.score(sample, result.loglikelihoods)
        else:
            result.error = error
        results.append(result)
    return results


class ChatRenderer:
    """The user message wrapped in the model's chat template, as lm-eval's ``apply_chat_template`` does.
    For transformers models it needs only the tokenizer, so a fully cached re-run loads no weights."""

    def __init__(self, spec: models.ModelSpec, engine: Engine, enabled: bool):
        self.spec, self.engine, self.enabled = spec, engine, enabled
        self._tokenizer = None

    def __call__(self, prompt: str) -> str:
        if not self.enabled:
            return prompt
        chat = [{"role": "user", "content": prompt}]
        if self.engine.loaded or self.spec.backend != "hf" or "pretrained" not in self.spec.args:
            return self.engine.lm.apply_chat_template(chat)
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.spec.args.get("tokenizer")
                                                            or self.spec.args["pretrained"])
        return self._tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)


def generation_chunk(engine: Engine, family, chunk: list[Sample], render: ChatRenderer) -> list[SampleResult]:
    try:
        requests = [(render(s.prompt), family.gen_kwargs(s)) for s in chunk]
        outputs, error = engine.generate(requests), None
    except OctoglotError:
        raise
    except Exception as exc:
        if len(chunk) > 1:
            return [r for sample in chunk for r in generation_chunk(engine, family, [sample], render)]
        outputs, error = None, _first_line(exc)
    results = []
    for i, sample in enumerate(chunk):
        result = SampleResult(sample.id, sample.prompt_hash, sample.target)
        if error is None:
            result.response = outputs[i]
            result.metrics, result.extracted = family.score(sample, outputs[i])
            result.detected_lang = langid.detect(outputs[i])
            if sample.answer_lang:
                result.metrics["lang_fidelity"] = float(result.detected_lang == sample.answer_lang)
        else:
            result.error = error
        results.append(result)
    return results


def score_unit(engine: Engine, unit: Unit, render: ChatRenderer, on_progress) -> list[SampleResult]:
    family = FAMILIES[unit.task.family]
    results: list[SampleResult] = []
    for start in range(0, len(unit.samples), CHUNK_SAMPLES):
        chunk = unit.samples[start:start + CHUNK_SAMPLES]
        if family.KIND == "loglikelihood":
            results += loglikelihood_chunk(engine, family, chunk)
        else:
            results += generation_chunk(engine, family, chunk, render)
        on_progress(len(chunk))
    return results


class LineProgress:
    """Progress for logs (stderr not a terminal): a line per update, at most every 15 seconds."""

    def __init__(self, *columns, transient: bool = False):
        self.tasks: dict[int, list] = {}
        self.started = time.time()
        self.last = 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, description: str, total: int) -> int:
        self.tasks[len(self.tasks)] = [description, 0, total, time.time()]
        return len(self.tasks) - 1

    def update(self, task: int, description: str) -> None:
        self.tasks[task][0] = description

    def advance(self, task: int, n: int) -> None:
        entry = self.tasks[task]
        entry[1] += n
        now = time.time()
        if now - self.last >= 15 or entry[1] >= entry[2]:
            self.last = now
            done, total, began = entry[1], entry[2], entry[3]
            eta = (now - began) / done * (total - done) if done else 0
            print(f"[{now - self.started:6.0f}s] {entry[0]}: {done}/{total}, ETA {eta:.0f}s", file=sys.stderr,
                  flush=True)


def generation_chunks(units: list[Unit]) -> list[list[tuple[int, int]]]:
    """(unit index, sample index) of every generation sample, in groups of ``PREFETCH_REQUESTS``: generated
    together across units, so batches are full (a unit often has fewer samples than a batch). Both
    executors cut the same groups, so a request meets the same batch neighbours wherever it runs."""
    pairs = [(u, i) for u, unit in enumerate(units) if FAMILIES[unit.task.family].KIND == "generate"
             for i in range(len(unit.samples))]
    return [pairs[start:start + PREFETCH_REQUESTS] for start in range(0, len(pairs), PREFETCH_REQUESTS)]


@dataclass(frozen=True)
class ModelSettings:
    """What the model side of a run needs; plain values, so a Ray worker builds it on its own node."""
    model: str
    model_args: str | None
    batch_size: int
    device: str
    seed: int
    chat_template: bool | None
    use_cache: bool
    shared_prefix: bool

    @classmethod
    def of(cls, config: RunConfig) -> "ModelSettings":
        return cls(config.model, config.model_args, config.batch_size, config.device, config.seed,
                   config.chat_template, config.use_cache, config.shared_prefix)


class Worker:
    """The model side of a run: the resolved model (loaded on the first request the response cache cannot
    answer), the response cache, the engine and the chat renderer. The local executor uses one in its own
    process; the Ray executor one per actor, reused across units."""

    def __init__(self, settings: ModelSettings):
        self.spec = models.resolve(settings.model, settings.model_args)
        spec = self.spec

        def load_model():
            import torch

            torch.manual_seed(settings.seed)
            return models.load(spec, settings.batch_size, settings.device)

        random.seed(settings.seed)
        self.cache = ResponseCache(default_path(), model_key(spec.backend, spec.args, spec.identity)) \
            if settings.use_cache else None
        self.engine = Engine(load_model, self.cache, shared_prefix=settings.shared_prefix)
        self.chat = spec.instruct if settings.chat_template is None else settings.chat_template
        self.render = ChatRenderer(spec, self.engine, self.chat)

    def _request(self, family_name: str, sample: Sample) -> tuple[str, dict]:
        return self.render(sample.prompt), FAMILIES[family_name].gen_kwargs(sample)

    def generate_ahead(self, items: list[tuple[str, Sample]]) -> list[str] | None:
        """Generations for (family, sample) pairs, computed before their units ask; None when the model
        failed (each unit then asks again and records the error on its samples)."""
        requests = [self._request(family_name, sample) for family_name, sample in items]
        try:
            return self.engine.generate(requests, ahead=True)
        except OctoglotError:  # the response cache cannot be written (disk full): stop, as the unit pass would
            raise
        except Exception:  # noqa: BLE001 - retried and recorded per sample by score()
            return None

    def remember(self, items: list[tuple[str, Sample]], outputs: list[str]) -> None:
        """Generations another worker computed ahead for these (family, sample) pairs."""
        self.engine.remember_generations([self._request(f, s) for f, s in items], outputs)

    def score(self, unit: Unit, on_progress=lambda n: None) -> list[SampleResult]:
        return score_unit(self.engine, unit, self.render, on_progress)

    def close(self) -> None:
        if self.cache:
            self.cache.close()


def run_locally(worker: Worker, units: list[Unit], progress, on_unit) -> None:
    """The local executor: generations ahead in groups across units, then every unit in order."""
    chunks = generation_chunks(units)
    if chunks:
        bar = progress.add_task("generating", total=sum(len(c) for c in chunks))
        for chunk in chunks:
            worker.generate_ahead([(units[u].task.family, units[u].samples[i]) for u, i in chunk])
            progress.advance(bar, len(chunk))
    bar = progress.add_task("scoring", total=sum(len(u.samples) for u in units))
    for unit in units:
        progress.update(bar, description=f"{unit.task.id}/{unit.lang}")
        on_unit(unit, worker.score(unit, lambda n: progress.advance(bar, n)))


def unit_scores(unit: Unit, results: list[SampleResult]) -> list[dict]:
    rows = scoring.aggregate(unit.task.id, unit.lang, results, unit.task.metrics)
    family = FAMILIES[unit.task.family]
    if hasattr(family, "corpus"):
        ok = [(s, r) for s, r in zip(unit.samples, results) if r.error is None]
        if ok:
            for row in family.corpus([s for s, _ in ok], [r for _, r in ok]):
                rows.append({"task": unit.task.id, "lang": unit.lang, **row})
    return rows


CONFIG_FILE = "run_config.json"


def config_to_json(config: RunConfig) -> dict:
    return {"format_version": FORMAT_VERSION, "model": config.model, "model_args": config.model_args,
            "tasks": [t.id for t in config.tasks], "langs": [lang.code for lang in config.langs],
            "limit": config.limit, "seed": config.seed, "output": str(config.output), "data_dir": config.data_dir,
            "batch_size": config.batch_size, "device": config.device, "chat_template": config.chat_template,
            "use_cache": config.use_cache, "shared_prefix": config.shared_prefix, "executor": config.executor,
            "ray_address": config.ray_address, "ray_workers": config.ray_workers}


def resume_config(run_dir: Path) -> RunConfig:
    """The configuration a run directory was started with, to continue it."""
    from harness.languages import get_language
    from harness.tasks import get_task

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
    return RunConfig(model=raw["model"], model_args=raw["model_args"], tasks=[get_task(t) for t in raw["tasks"]],
                     langs=[get_language(c) for c in raw["langs"]], limit=raw["limit"], seed=raw["seed"],
                     output=Path(raw["output"]), data_dir=raw["data_dir"], batch_size=raw["batch_size"],
                     device=raw["device"], chat_template=raw["chat_template"], use_cache=raw["use_cache"],
                     shared_prefix=raw["shared_prefix"], executor=raw.get("executor", "local"),
                     ray_address=raw.get("ray_address"), ray_workers=raw.get("ray_workers"))


def finished_results(run_dir: Path, unit: Unit) -> list[SampleResult] | None:
    """The stored records of a unit an earlier (interrupted) run finished, if they match its samples."""
    path = sample_path(run_dir, unit.lang, unit.task.id)
    if not path.is_file():
        return None
    try:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        results = [SampleResult(**record) for record in records]
    except (json.JSONDecodeError, TypeError):
        return None
    if [r.id for r in results] != [s.id for s in unit.samples]:
        return None
    return results


def execute(config: RunConfig, resume: Path | None = None) -> tuple[Path, list[dict], int]:
    """Run everything; returns the run directory, the score rows and the number of failed samples.

    With ``resume``, the run continues in that directory: units whose records are there are kept,
    and the response cache answers every request the interrupted run had finished."""
    started = time.time()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for task in config.tasks:
        limit = limit_for(config, task.id)
        if limit is not None and limit < 1:
            raise OctoglotError(f"--limit: expected a positive integer, got {limit}")
    models.parse_model_args(config.model_args)  # bad flags fail before any data is read
    units, skipped = plan(config)
    data_dir = data.resolve_data_dir(config.data_dir)
    settings = ModelSettings.of(config)
    worker = Worker(settings)
    spec = worker.spec
    models.check_endpoint(spec)  # an unreachable base_url fails here, not once per request
    if config.executor == "ray" and config.ray_address:
        from harness.ray_executor import check_reachable

        check_reachable(config.ray_address)  # so does an unreachable Ray head
    run_dir = resume or new_run_dir(config.output, config.model)
    write_json(run_dir / CONFIG_FILE, config_to_json(config))

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    scores: list[dict] = []
    failed = 0
    results_of: dict[int, list[SampleResult]] = {}
    kept = f" (finished units and cached requests are kept: octoglot run --resume {run_dir})"

    def on_unit(unit: Unit, results: list[SampleResult]) -> None:
        try:
            write_samples(run_dir, unit.lang, unit.task.id, results)
        except OSError as exc:  # disk full, say: what is finished stays
            raise OctoglotError(f"{exc.filename or sample_path(run_dir, unit.lang, unit.task.id)}: "
                                f"{exc.strerror or exc}{kept}") from None
        results_of[id(unit)] = results

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("samples"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    progress_type = Progress if sys.stderr.isatty() else LineProgress
    executor = {"name": config.executor}
    with progress_type(*columns, transient=False) as progress:
        for unit in units:
            results = finished_results(run_dir, unit) if resume else None
            if results is not None:
                results_of[id(unit)] = results
        todo = [u for u in units if id(u) not in results_of]
        try:
            if config.executor == "ray":
                from harness import ray_executor

                worker.close()
                executor, counts = ray_executor.run(settings, todo, progress, on_unit, config.ray_address,
                                                    config.ray_workers, config.device)
                worker.engine.counts = counts
            else:
                run_locally(worker, todo, progress, on_unit)
        except OctoglotError as exc:
            message = str(exc)
            raise OctoglotError(message if message.endswith(kept) else f"{message}{kept}") from None
    for unit in units:
        results = results_of[id(unit)]
        unit.info["n_errors"] = sum(r.error is not None for r in results)
        failed += unit.info["n_errors"]
        scores += unit_scores(unit, results)

    worker.close()
    manifest = {
        "format_version": FORMAT_VERSION,
        "harness": {"name": "octoglot", "version": __version__},
        "created": created,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": config.command,
        "model": {"name": config.model, "backend": spec.backend, "args": public_args(spec.args),
                  "identity": spec.identity, "batch_size": config.batch_size, "device": config.device,
                  "chat_template": worker.chat},
        "versions": versions(),
        "seeds": {"sampling": config.seed, "python": config.seed, "torch": config.seed, "langdetect": 0},
        "langid": {"detector": langid.current_detector()},
        "limit": {t.id: limit_for(config, t.id) for t in config.tasks},
        "data_dir": str(data_dir.path) if data_dir else None,
        "executor": executor,
        "backend_check": backend_check.summary(checked) if (checked := backend_check.stored(spec)) else None,
        "requests": asdict(worker.engine.counts),
        "response_cache": str(worker.cache.db_path) if worker.cache else None,
        "units": [u.info for u in units],
        "skipped": skipped,
        "wall_seconds": round(time.time() - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    write_json(run_dir / "results.json", {"format_version": FORMAT_VERSION, "scores": scores,
                                          "errors": {f"{u.task.id}/{u.lang}": u.info["n_errors"] for u in units}})
    write_json(run_dir / "manifest.json", manifest)
    return run_dir, scores, failed
