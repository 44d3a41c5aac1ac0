"""Per-language task packs: ``langs/<code>/pack.yaml``, validated on load.

A pack is data only: the language's literals (prompt words and sentences) and,
for each task id it covers, the task version and where the data comes from (a path
inside the data directory and/or a Hugging Face hub id pinned to a revision).
It is read with ``yaml.safe_load``, so no tag in it can run code.

Packs are read from the repository's ``langs/``, or from ``$OCTOGLOT_PACKS`` when it is set: a folder
of ``<code>/pack.yaml`` (every language a run uses must be there), for trying an edited pack without
touching the checkout, and for tests that load broken copies of the real packs.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from functools import cache
from pathlib import Path
from typing import Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.core.errors import OctoglotError
from harness.core.languages import LANGUAGES, Language, get_language, suggest
from harness.tasks.registry import registry

PACK_FORMAT = 1
LANGS_DIR = Path(__file__).resolve().parents[2] / "langs"
PACKS_ENV = "OCTOGLOT_PACKS"


def packs_dir() -> Path:
    """``$OCTOGLOT_PACKS`` (a folder of ``<code>/pack.yaml``) when set, else the repository's ``langs/``."""
    return Path(os.environ[PACKS_ENV]) if os.environ.get(PACKS_ENV) else LANGS_DIR


def file_format(path: str) -> str:
    """A data file's format by its suffix: TSV, CSV, JSON, JSON Lines, else text (one row per line)."""
    suffix = Path(path).suffix.lstrip(".")
    return suffix if suffix in ("tsv", "csv", "json", "jsonl") else "text"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LocalSource(_Strict):
    path: str
    # "python-literals": a .py file of NAME = <literal> assignments, read with ast.literal_eval, never run
    format: Literal["tsv", "csv", "json", "jsonl", "text", "python-literals"] | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    columns: list[str] | None = None  # names for a TSV/CSV file without a header row

    @field_validator("path")
    @classmethod
    def _inside_data_dir(cls, value: str) -> str:
        norm = posixpath.normpath(value)
        if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value) or norm.startswith(".."):
            raise ValueError(f"must be a relative path inside the data directory, got '{value}'")
        return norm

    @property
    def file_format(self) -> str:
        return self.format or file_format(self.path)


class HubSource(_Strict):
    id: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    config: str | None = None
    split: str | None = None  # read through ``datasets`` (a config's split) ...
    # ... or one file of the dataset repository, read as it is (JSON Lines, JSON, TSV, CSV), for repositories of
    # raw files whose rows differ in shape (``datasets`` would merge them into one Arrow schema, adding nulls)
    file: str | None = None
    revision: str = Field(pattern=r"^[0-9a-f]{40}$")

    @model_validator(mode="after")
    def _split_or_file(self) -> "HubSource":
        if (self.split is None) == (self.file is None):
            raise ValueError("needs either 'split' (read through datasets) or 'file' (one file of the repository)")
        return self


class TaskEntry(_Strict):
    version: int = Field(ge=1)
    local: LocalSource | None = None
    hub: HubSource | None = None
    # further local files a task reads beside its rows (references, exemplars), by role
    extra: dict[str, LocalSource] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_source(self) -> "TaskEntry":
        if self.local is None and self.hub is None:
            raise ValueError("needs a data source: 'local', 'hub' or both")
        return self


LiteralValue = Union[str, list[str], dict[str, str]]  # a word or sentence, a list of them, or a mapping


class Pack(_Strict):
    format: int
    language: str
    version: int = Field(ge=1)
    literals: dict[str, LiteralValue]
    tasks: dict[str, TaskEntry]

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: int) -> int:
        if value != PACK_FORMAT:
            raise ValueError(f"pack format {value} is not supported (this octoglot reads format {PACK_FORMAT})")
        return value


def _describe(err: dict) -> str:
    where = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "required field is missing"
    return f"{where}: {msg}" if where else msg


def parse_pack(text: str, source: str) -> Pack:
    """Validate pack text; every error names ``source`` and the field."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise OctoglotError(f"pack {source}:{where}: malformed YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise OctoglotError(f"pack {source}: expected a mapping at the top level")
    try:
        pack = Pack.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise OctoglotError(f"pack {source}: {_describe(first)}{more}") from None
    check_names(pack, source)
    return pack


def check_names(pack: Pack, source: str) -> None:
    """Strict against the registry: every task a pack names is registered, every literal is one a registered
    task needs, and no literal is empty."""
    known = registry()
    for task_id in pack.tasks:
        if task_id not in known.tasks:
            raise OctoglotError(f"pack {source}: tasks.{task_id}: unknown task.{suggest(task_id, list(known.tasks))} "
                                f"Known: {', '.join(known.tasks)}")
    names = sorted(known.literal_names())
    for name, value in pack.literals.items():
        if name not in names:
            raise OctoglotError(f"pack {source}: literals.{name}: unknown literal (no registered task needs it)."
                                f"{suggest(name, names)}")
        if not value or (isinstance(value, list) and not all(v.strip() for v in value)) \
                or (isinstance(value, dict) and not all(v.strip() for v in value.values())) \
                or (isinstance(value, str) and not value.strip()):
            raise OctoglotError(f"pack {source}: literals.{name}: empty")


def load_pack(code: str, langs_dir: Path | None = None) -> Pack:
    return _load_pack(code, langs_dir or packs_dir())


@cache
def _load_pack(code: str, langs_dir: Path) -> Pack:
    lang = get_language(code)
    path = langs_dir / lang.code / "pack.yaml"
    shown = _shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OctoglotError(f"pack {shown}: file not found") from None
    except UnicodeDecodeError:
        raise OctoglotError(f"pack {shown}: not valid UTF-8") from None
    pack = parse_pack(text, shown)
    if pack.language != lang.code:
        raise OctoglotError(f"pack {shown}: language: expected '{lang.code}', got '{pack.language}'")
    return pack


def pack_path(lang: Language, langs_dir: Path | None = None) -> str:
    return _shown((langs_dir or packs_dir()) / lang.code / "pack.yaml")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def require_literals(pack: Pack, names: tuple[str, ...], source: str, task: str) -> dict:
    """The literals a task needs; a missing one is an error naming the file to edit."""
    values = pack.literals
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise OctoglotError(f"pack {source}: task '{task}' needs literals.{missing[0]}, which is missing")
    return {n: values[n] for n in names}


def content_hash(obj: object) -> str:
    """sha256 of a canonical JSON encoding: the basis of prompt and pack hashes."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def all_packs() -> dict[str, Pack]:
    return {code: load_pack(code) for code in LANGUAGES}
