"""The small typed records that travel from packs to the runner to the scorer,
and the on-disk run format (versioned; see README "Run directory format").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT_VERSION = 1


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

    @property
    def prompt_hash(self) -> str:
        blob = json.dumps([self.prompt, list(self.choices), list(self.contexts)], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def sample_path(run_dir: Path, lang: str, task: str) -> Path:
    return run_dir / "samples" / lang / f"{task}.jsonl"


def write_samples(run_dir: Path, lang: str, task: str, results: list[SampleResult]) -> Path:
    path = sample_path(run_dir, lang, task)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(r.to_json() + "\n" for r in results), encoding="utf-8")
    tmp.replace(path)
    return path


def read_samples(run_dir: Path, lang: str, task: str) -> list[dict]:
    path = sample_path(run_dir, lang, task)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_json(path: Path, obj: object) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
