"""The model side of a run: one model (loaded on the first request the response cache cannot answer), its
engine and chat renderer, and the per-sample loop that sends a unit's requests and scores each answer with its
task's scorer. The local executor uses one Worker in its own process; the Ray executor one per actor.

A model error is recorded on the sample that failed (``SampleResult.error``), never scored as a wrong answer; a
chunk that fails is asked again sample by sample, so one failed request does not fail its neighbours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.core import langid
from harness.core.errors import OctoglotError
from harness.core.records import Sample, SampleResult
from harness.execution import models
from harness.execution.cache import ResponseCache, default_path, model_key
from harness.execution.engine import Engine
from harness.execution.plan import RunConfig, Unit
from harness.tasks.definition import TaskDef
from harness.tasks.registry import get_task

CHUNK_SAMPLES = 16  # samples per model call: the unit of progress and of failure
PREFETCH_REQUESTS = 64  # generation requests sent together across units, so batches are full


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


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


def loglikelihood_chunk(engine: Engine, task: TaskDef, chunk: list[Sample]) -> list[SampleResult]:
    try:
        outputs, error = engine.loglikelihood([s.loglikelihood_requests() for s in chunk]), None
    except OctoglotError:  # not the model's failure (the response cache could not be written): stop the run
        raise
    except Exception as exc:  # recorded on the sample that failed, never scored
        if len(chunk) > 1:  # one failed request must not fail its neighbours: ask for each sample alone
            return [r for sample in chunk for r in loglikelihood_chunk(engine, task, [sample])]
        outputs, error = None, _first_line(exc)
    results = []
    for i, sample in enumerate(chunk):
        result = SampleResult(sample.id, sample.prompt_hash, sample.target)
        if error is None:
            result.loglikelihoods = [float(ll) for ll, _ in outputs[i]]
            scored = task.score(sample, result.loglikelihoods)
            result.metrics, result.extracted, result.statistics = scored.metrics, scored.extracted, scored.statistics
        else:
            result.error = error
        results.append(result)
    return results


def generation_chunk(engine: Engine, task: TaskDef, chunk: list[Sample], render: ChatRenderer) -> list[SampleResult]:
    try:
        requests = [(render(s.prompt), task.generation(s).kwargs()) for s in chunk]
        outputs, error = engine.generate(requests), None
    except OctoglotError:
        raise
    except Exception as exc:
        if len(chunk) > 1:
            return [r for sample in chunk for r in generation_chunk(engine, task, [sample], render)]
        outputs, error = None, _first_line(exc)
    results = []
    for i, sample in enumerate(chunk):
        result = SampleResult(sample.id, sample.prompt_hash, sample.target)
        if error is None:
            result.response = outputs[i]
            scored = task.score(sample, outputs[i])
            result.metrics, result.extracted, result.statistics = scored.metrics, scored.extracted, scored.statistics
            result.detected_lang = langid.detect(outputs[i])
            if sample.answer_lang:
                result.metrics["lang_fidelity"] = float(result.detected_lang == sample.answer_lang)
        else:
            result.error = error
        results.append(result)
    return results


def generation_chunks(units: list[Unit]) -> list[list[tuple[int, int]]]:
    """(unit index, sample index) of every generation sample, in groups of ``PREFETCH_REQUESTS``: generated
    together across units, so batches are full (a unit often has fewer samples than a batch). Both
    executors cut the same groups, so a request meets the same batch neighbours wherever it runs."""
    pairs = [(u, i) for u, unit in enumerate(units) if unit.task.kind == "generate" for i in range(len(unit.samples))]
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
    """The resolved model, the response cache, the engine and the chat renderer of one process or actor."""

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

    def _request(self, task_id: str, sample: Sample) -> tuple[str, dict]:
        return self.render(sample.prompt), get_task(task_id).generation(sample).kwargs()

    def generate_ahead(self, items: list[tuple[str, Sample]]) -> list[str] | None:
        """Generations for (task id, sample) pairs, computed before their units ask; None when the model
        failed (each unit then asks again and records the error on its samples)."""
        requests = [self._request(task_id, sample) for task_id, sample in items]
        try:
            return self.engine.generate(requests, ahead=True)
        except OctoglotError:  # the response cache cannot be written (disk full): stop, as the unit pass would
            raise
        except Exception:  # noqa: BLE001 - retried and recorded per sample by score()
            return None

    def remember(self, items: list[tuple[str, Sample]], outputs: list[str]) -> None:
        """Generations another worker computed ahead for these (task id, sample) pairs."""
        self.engine.remember_generations([self._request(t, s) for t, s in items], outputs)

    def score(self, unit: Unit, on_progress=lambda n: None) -> list[SampleResult]:
        results: list[SampleResult] = []
        for start in range(0, len(unit.samples), CHUNK_SAMPLES):
            chunk = unit.samples[start:start + CHUNK_SAMPLES]
            if unit.task.kind == "loglikelihood":
                results += loglikelihood_chunk(self.engine, unit.task, chunk)
            else:
                results += generation_chunk(self.engine, unit.task, chunk, self.render)
            on_progress(len(chunk))
        return results

    def close(self) -> None:
        if self.cache:
            self.cache.close()


def run_locally(worker: Worker, units: list[Unit], progress, on_unit) -> None:
    """The local executor: generations ahead in groups across units, then every unit in order."""
    chunks = generation_chunks(units)
    if chunks:
        bar = progress.add_task("generating", total=sum(len(c) for c in chunks))
        for chunk in chunks:
            worker.generate_ahead([(units[u].task.id, units[u].samples[i]) for u, i in chunk])
            progress.advance(bar, len(chunk))
    bar = progress.add_task("scoring", total=sum(len(u.samples) for u in units))
    for unit in units:
        progress.update(bar, description=f"{unit.task.id}/{unit.lang}")
        on_unit(unit, worker.score(unit, lambda n: progress.advance(bar, n)))
