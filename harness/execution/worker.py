"""The model side of a run: one model (loaded on the first request the response cache cannot answer), its
engine and chat renderer, and the per-sample loop that sends a unit's requests and scores each answer with its
task's scorer. The local executor uses one Worker in its own process; the Ray executor one per actor.

A model error is recorded on the sample that failed (``SampleResult.error``), never scored as a wrong answer; a
chunk that fails is asked again sample by sample, so one failed request does not fail its neighbours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Callable

from harness.core import langid
from harness.core.errors import OctoglotError
from harness.core.programs import DATA_ERROR, Attempt
from harness.core.records import Generation, Sample, SampleResult
from harness.execution import allocator, models, sandbox
from harness.execution.cache import ResponseCache, default_path, model_key
from harness.execution.engine import DRAW, Engine
from harness.execution.plan import RunConfig, Unit
from harness.tasks.definition import TaskDef
from harness.tasks.registry import get_task

CHUNK_SAMPLES = 16  # generation samples per model call: the unit of progress and of failure
# log-likelihood samples per model call: the flat scoring plan (``prefix.plan``) fills forward calls of 4,096
# positions from a call's items, so a larger call runs fewer, fuller forward calls; a failed call is still asked
# again sample by sample
LOGLIKELIHOOD_CHUNK = 512
# generation requests sent together across units: the decoding loop keeps its batch full from them (a sequence that
# ends makes room for the next planned batch), so larger groups leave fewer long sequences decoding alone
PREFETCH_REQUESTS = 256


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


API_CHAT_BACKENDS = ("local-chat-completions", "openai-chat-completions")  # lm-eval's chat APIs: tools by field
TOOL_FORMATS = {"api": "tools field of the chat API", "template": "the chat template's tools",
                "prompt": "documented prompt in the chat template", "plain": "documented prompt, plain text"}


class ChatRenderer:
    """The user message wrapped in the model's chat template, as lm-eval's ``apply_chat_template`` does.
    For transformers models it needs only the tokenizer, so a fully cached re-run loads no weights."""

    def __init__(self, spec: models.ModelSpec, engine: Engine, enabled: bool):
        self.spec, self.engine, self.enabled = spec, engine, enabled
        self._tokenizer = None

    @property
    def _own_tokenizer(self) -> bool:
        return not self.engine.loaded and self.spec.backend == "hf" and "pretrained" in self.spec.args

    @property
    def tokenizer(self):
        """The transformers tokenizer whose template renders the chat (None for API backends)."""
        if not self._own_tokenizer:
            return getattr(self.engine.lm, "tokenizer", None) if self.spec.backend not in API_CHAT_BACKENDS else None
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.spec.args.get("tokenizer")
                                                            or self.spec.args["pretrained"])
        return self._tokenizer

    def __call__(self, prompt: str) -> str:
        if not self.enabled:
            return prompt
        return self.messages([{"role": "user", "content": prompt}])

    def messages(self, chat: list[dict], tools: list[dict] | None = None) -> str:
        """A conversation in the chat template; ``tools`` go to a template that takes them."""
        if tools is None and not self._own_tokenizer:
            return self.engine.lm.apply_chat_template(chat)
        return self.tokenizer.apply_chat_template(chat, tools=tools, tokenize=False, add_generation_prompt=True)

    def tool_mode(self) -> str:
        """How function documents reach this model: ``api``, ``template``, ``prompt`` or ``plain`` (TOOL_FORMATS)."""
        if not self.enabled:
            return "plain"
        if self.spec.backend in API_CHAT_BACKENDS:
            return "api"
        template = getattr(self.tokenizer, "chat_template", None) or ""
        return "template" if "tools" in str(template) else "prompt"


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
        result = SampleResult(sample.id, sample.prompt_hash, sample.target, prompt=sample.prompt,
                              choices=list(sample.contexts and [c + o for c, o in sample.loglikelihood_requests()]
                                           or sample.choices))
        if error is None:
            result.loglikelihoods = [float(ll) for ll, _ in outputs[i]]
            scored = task.score(sample, result.loglikelihoods)
            result.metrics, result.extracted, result.statistics = scored.metrics, scored.extracted, scored.statistics
            result.details = scored.details
        else:
            result.error = error
        results.append(result)
    return results


def generation_chunk(worker: "Worker", task: TaskDef, chunk: list[Sample]) -> list[SampleResult]:
    per_sample = []
    try:
        per_sample = [worker.requests(task, s) for s in chunk]
        flat = worker.engine.generate([r for requests in per_sample for r in requests])
        outputs, error, start = [], None, 0
        for requests in per_sample:
            outputs.append(flat[start:start + len(requests)])
            start += len(requests)
    except OctoglotError:
        raise
    except Exception as exc:
        if len(chunk) > 1:
            return [r for sample in chunk for r in generation_chunk(worker, task, [sample])]
        outputs, error = None, _first_line(exc)
    if error is not None:
        (sample,) = chunk
        return [SampleResult(sample.id, sample.prompt_hash, sample.target, error=error,
                             prompt=per_sample[0][0][0] if len(per_sample) == 1 else None)]
    executions = worker.execute(task, chunk, outputs) if task.execute else None
    results = []
    for i, (sample, responses) in enumerate(zip(chunk, outputs)):
        result = SampleResult(sample.id, sample.prompt_hash, sample.target, response=responses[0],
                              prompt=per_sample[i][0][0])
        if executions is None:
            scored = [task.score(sample, response) for response in responses]
        else:
            attempts = executions[i]
            scored = [task.score(sample, attempt) for attempt in attempts]
            result.execution = _execution_record(attempts[0], sample)
        final = scored[0] if len(scored) == 1 else task.combine(sample, scored)
        result.metrics, result.extracted, result.statistics = final.metrics, final.extracted, final.statistics
        result.details = final.details
        if len(responses) > 1:
            result.draws = [{"response": r, "extracted": one.extracted,
                             **({"execution": _execution_record(executions[i][d], sample)} if executions else {})}
                            for d, (r, one) in enumerate(zip(responses, scored))]
        result.detected_lang = langid.detect(responses[0])
        if sample.answer_lang:
            result.metrics["lang_fidelity"] = float(result.detected_lang == sample.answer_lang)
        results.append(result)
    return results


def _execution_record(attempt: Attempt, sample: Sample) -> dict:
    if attempt.execution is None:
        return {"outcome": DATA_ERROR, "detail": sample.meta.get("data_error") or "the item is broken in the data"}
    return attempt.execution.record(attempt.program)


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
    draws: int = 1  # --samples: responses per sample, for the tasks that combine several
    temperature: float | None = None  # --temperature, with draws > 1
    sandbox: str = "bubblewrap"  # where programs run: "bubblewrap", or "unsafe" (--unsafe-exec)

    @classmethod
    def of(cls, config: RunConfig) -> "ModelSettings":
        return cls(config.model, config.model_args, config.batch_size, config.device, config.seed,
                   config.chat_template, config.use_cache, config.shared_prefix, config.draws, config.temperature,
                   config.sandbox)


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
        self.settings = settings
        self._sandbox: sandbox.Sandbox | None = None
        self._tool_mode: str | None = None

    @property
    def sandbox(self) -> sandbox.Sandbox:
        """Where programs run; made on first use (a run without code tasks needs no bwrap)."""
        if self._sandbox is None:
            self._sandbox = sandbox.make(self.settings.sandbox)
        return self._sandbox

    def generation(self, task: TaskDef, sample: Sample) -> Generation:
        """The task's settings for the sample, with ``--samples``/``--temperature`` for tasks that combine draws."""
        settings = task.generation(sample)
        if self.settings.draws > 1 and task.combine is not None:
            settings = replace(settings, temperature=self.settings.temperature, draws=self.settings.draws)
        return settings

    def requests(self, task: TaskDef, sample: Sample) -> list[tuple[str, dict]]:
        """The sample's generation requests: one, or one per draw (the draw's number is part of the request's key,
        not of what the model is sent)."""
        settings = self.generation(task, sample)
        kwargs = settings.kwargs(self.chat)
        if task.messages is not None and self.chat:
            mode = self.tool_mode
            messages, tools = task.messages(sample, mode)
            context = self.render.messages(messages, tools if mode == "template" else None)
            if mode == "api":
                kwargs["tools"] = tools
        else:
            context = self.render(sample.message(self.chat))
        if settings.draws == 1:
            return [(context, kwargs)]
        return [(context, {**kwargs, DRAW: draw}) for draw in range(settings.draws)]

    @property
    def tool_mode(self) -> str:
        if self._tool_mode is None:
            self._tool_mode = self.render.tool_mode()
        return self._tool_mode

    def tool_format(self, task: TaskDef) -> str | None:
        """How a tool-calling task's function documents reach the model (the manifest records it per unit)."""
        return TOOL_FORMATS[self.tool_mode] if task.messages is not None else None

    def execute(self, task: TaskDef, chunk: list[Sample], outputs: list[list[str]]) -> list[list[Attempt]]:
        """Every response's program, run in the sandbox (in parallel up to its worker count)."""
        programs = [[task.execute(sample, response) for response in responses]
                    for sample, responses in zip(chunk, outputs)]
        runnable = [p for row in programs for p in row if p is not None]
        ran = iter(self.sandbox.run_many(runnable))
        return [[Attempt(response, program, next(ran) if program is not None else None)
                 for response, program in zip(responses, row)] for responses, row in zip(outputs, programs)]

    def generate_ahead(self, items: list[tuple[str, Sample]],
                       on_progress: Callable[[int], None] = lambda n: None) -> list[list[str]] | None:
        """Generations for (task id, sample) pairs (a list per pair: its draws), computed before their units ask;
        None when the model failed (each unit then asks again and records the error on its samples).
        ``on_progress(1)`` as a pair has all its generations."""
        per_item = [self.requests(get_task(task_id), sample) for task_id, sample in items]
        owner = [n for n, requests in enumerate(per_item) for _ in requests]
        missing = [len(requests) for requests in per_item]

        def done(i: int) -> None:
            missing[owner[i]] -= 1
            if not missing[owner[i]]:
                on_progress(1)

        try:
            flat = self.engine.generate([r for requests in per_item for r in requests], ahead=True, done=done)
        except OctoglotError:  # the response cache cannot be written (disk full): stop, as the unit pass would
            raise
        except Exception:  # noqa: BLE001 - retried and recorded per sample by score()
            return None
        out, start = [], 0
        for requests in per_item:
            out.append(flat[start:start + len(requests)])
            start += len(requests)
        return out

    def remember(self, items: list[tuple[str, Sample]], outputs: list[list[str]]) -> None:
        """Generations another worker computed ahead for these (task id, sample) pairs."""
        requests = [r for task_id, sample in items for r in self.requests(get_task(task_id), sample)]
        self.engine.remember_generations(requests, [o for per_item in outputs for o in per_item])

    def score(self, unit: Unit, on_progress=lambda n: None) -> list[SampleResult]:
        results: list[SampleResult] = []
        size = LOGLIKELIHOOD_CHUNK if unit.task.kind == "loglikelihood" else CHUNK_SAMPLES
        for start in range(0, len(unit.samples), size):
            chunk = unit.samples[start:start + size]
            if unit.task.kind == "loglikelihood":
                results += loglikelihood_chunk(self.engine, unit.task, chunk)
            else:
                results += generation_chunk(self, unit.task, chunk)
            on_progress(len(chunk))
        return results

    def close(self) -> None:
        if self.cache:
            self.cache.close()
        if self._sandbox is not None:
            self._sandbox.close()


def run_locally(worker: Worker, units: list[Unit], progress, on_unit) -> None:
    """The local executor: the log-likelihood units first (their results come in seconds), then the generations
    ahead in groups across units, then every generation unit, in order."""
    def score(unit: Unit, bar: int) -> None:
        progress.update(bar, description=f"{unit.task.id}/{unit.lang}")
        on_unit(unit, worker.score(unit, lambda n: progress.advance(bar, n)))

    first = [u for u in units if u.task.kind != "generate"]
    if first:
        bar = progress.add_task("scoring", total=sum(len(u.samples) for u in first))
        for unit in first:
            score(unit, bar)
    chunks = generation_chunks(units)
    if first and chunks:
        allocator.return_freed_memory()
    if chunks:
        bar = progress.add_task("generating", total=sum(len(c) for c in chunks))
        for chunk in chunks:
            advanced = []

            def step(n: int) -> None:
                advanced.append(n)
                progress.advance(bar, n)

            worker.generate_ahead([(units[u].task.id, units[u].samples[i]) for u, i in chunk], step)
            progress.advance(bar, len(chunk) - sum(advanced))  # a failed group: asked again per unit below
        bar = progress.add_task("scoring", total=sum(len(u.samples) for u in units if u.task.kind == "generate"))
        for unit in units:
            if unit.task.kind == "generate":
                score(unit, bar)
