"""The small typed records that travel from packs to execution to scoring, and the on-disk run format
(versioned; see README "Run directory format"): the one writer and the one reader of sample JSONL files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from harness.core.errors import OctoglotError

FORMAT_VERSION = 2  # 2: metric facts on every score row, generation settings and detector on every unit
READABLE_VERSIONS = (1, 2)


@dataclass(frozen=True)
class Sample:
    """One item of one task in one language, ready to be sent to a model."""

    id: str  # stable upstream id; parallel sets share it across languages
    task: str
    lang: str
    prompt: str  # the context (log-likelihood) or the user message (generation)
    choices: tuple[str, ...] = ()  # continuations for log-likelihood multiple choice
    target: int | str | tuple[str, ...] = 0  # gold choice index, gold answer, or all gold answers
    contexts: tuple[str, ...] = ()  # one context per choice (partial scoring, XWinograd); else `prompt`
    answer_lang: str | None = None  # the language a generated answer must be in (generation tasks)
    chat_prompt: str | None = None  # the user message when the chat template is on (default: ``prompt``)
    # what the family's scorer needs besides the sample (answer words from the pack, ...); not sent to the model
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def prompt_hash(self) -> str:
        parts = [self.prompt, list(self.choices), list(self.contexts)]
        if self.chat_prompt is not None:
            parts.append(self.chat_prompt)
        blob = json.dumps(parts, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def message(self, chat: bool) -> str:
        """What is sent to the model: the chat prompt under a chat template (when the task has one), else the prompt."""
        return self.chat_prompt if chat and self.chat_prompt is not None else self.prompt

    def loglikelihood_requests(self) -> list[tuple[str, str]]:
        """The (context, continuation) pairs to score: the prompt (or each option's own context) and each option."""
        contexts = self.contexts or (self.prompt,) * len(self.choices)
        return list(zip(contexts, self.choices))


@dataclass(frozen=True)
class Generation:
    """How a generation request is decoded: greedy unless ``temperature`` is set."""

    max_new_tokens: int
    until: tuple[str, ...] = ()  # stop sequences
    temperature: float | None = None  # None: greedy
    chat_until: tuple[str, ...] | None = None  # stop sequences under a chat template (None: ``until``)
    draws: int = 1  # responses per sample (``--samples``; more than one needs a temperature)

    def stops(self, chat: bool) -> tuple[str, ...]:
        return self.chat_until if chat and self.chat_until is not None else self.until

    def kwargs(self, chat: bool = False) -> dict:
        """lm-eval's ``generate_until`` arguments."""
        out: dict = {"until": list(self.stops(chat)), "max_gen_toks": self.max_new_tokens,
                     "do_sample": self.temperature is not None}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        return out

    def facts(self, chat_template: bool) -> dict:
        """What a run's manifest records of a unit's generation settings."""
        out = {"max_new_tokens": self.max_new_tokens, "until": list(self.stops(chat_template)),
               "sampling": "greedy" if self.temperature is None else f"temperature {self.temperature}",
               "chat_template": chat_template}
        if self.draws > 1:
            out["draws"] = self.draws
        return out


@dataclass(frozen=True)
class Scored:
    """What a family's scorer returns for one sample."""

    metrics: dict[str, float]
    extracted: str | None = None  # what the scorer took from the response (a number, an answer span)
    statistics: dict[str, list[float]] | None = None  # per corpus metric: this sample's sufficient statistics
    details: dict | None = None  # what the scorer found, item by item (instruction verdicts, ...), for reports


@dataclass
class SampleResult:
    """What the model did with a sample, and how it scored. ``error`` is set instead of
    ``metrics`` when the model call failed: a failure is never scored as a wrong answer."""

    id: str
    prompt_hash: str
    target: int | str | tuple[str, ...]
    loglikelihoods: list[float] | None = None
    response: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    detected_lang: str | None = None  # language of `response` as the detector saw it
    extracted: str | None = None  # what the scorer took from `response` (a number, an answer span)
    statistics: dict[str, list[float]] | None = None  # corpus metrics' sufficient statistics of this sample
    # programs (code tasks): the program run, its outcome, exit status, runtime and stderr tail
    execution: dict | None = None
    draws: list[dict] | None = None  # with --samples N: every response with its extraction and execution
    details: dict | None = None  # the scorer's findings item by item (instruction following: every verdict)
    # what the model was given: the exact text of a generation request (chat template applied), or the context of
    # log-likelihood requests with its options (``choices``); for the sample explorer (absent in older runs)
    prompt: str | None = None
    choices: list[str] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_record(cls, record: dict) -> "SampleResult":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in known})


def sample_path(run_dir: Path, lang: str, task: str) -> Path:
    return run_dir / "samples" / lang / f"{task}.jsonl"


def write_samples(run_dir: Path, lang: str, task: str, results: list[SampleResult]) -> Path:
    path = sample_path(run_dir, lang, task)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(r.to_json() + "\n" for r in results), encoding="utf-8")
    tmp.replace(path)
    return path


def read_records(path: Path, where: str | None = None) -> list[dict]:
    """Every record of a sample JSONL file; a missing file or a bad line is a one-line error naming it."""
    shown = where or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OctoglotError(f"{shown} is missing") from None
    except UnicodeDecodeError as exc:
        raise OctoglotError(f"{shown}: not valid UTF-8 at byte {exc.start}") from None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise OctoglotError(f"{shown} line {number}: invalid JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise OctoglotError(f"{shown} line {number}: expected a JSON object")
            records.append(record)
    return records


def read_samples(run_dir: Path, lang: str, task: str) -> list[dict]:
    return read_records(sample_path(run_dir, lang, task), f"run folder {run_dir}: samples/{lang}/{task}.jsonl")


def write_json(path: Path, obj: object) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
