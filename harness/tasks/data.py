"""The data layer: find the data directory, read task data, record provenance.

Order: ``--data-dir``, then ``$OCTOGLOT_DATA``, then ``./data``; with none of them,
the Hugging Face hub through ``datasets`` at the pack's pinned revision (``datasets``
itself honours ``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE``). The local layout is the
layout of the upstream repositories, files unchanged (TSV, CSV, JSON, JSONL, text).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import OctoglotError
from harness.tasks.packs import HubSource, LocalSource, TaskEntry, file_format

ENV_VAR = "OCTOGLOT_DATA"


@dataclass(frozen=True)
class DataDir:
    path: Path
    origin: str  # "--data-dir", "$OCTOGLOT_DATA" or "./data"


@dataclass(frozen=True)
class Loaded:
    rows: list[dict]
    provenance: dict  # {"kind": "local", "path", "sha256"} or {"kind": "hub", "id", "config", "split", "revision"}


def resolve_data_dir(flag: str | None) -> DataDir | None:
    """The local data directory to use, or None for the hub."""
    if flag:
        path, origin = Path(flag), "--data-dir"
    elif os.environ.get(ENV_VAR):
        path, origin = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    elif Path("data").is_dir():
        return DataDir(Path("data").resolve(), "./data")
    else:
        return None
    if not path.is_dir():
        raise OctoglotError(f"{origin}: data directory '{path}' does not exist")
    return DataDir(path.resolve(), origin)


def local_file(data_dir: DataDir, source: LocalSource) -> Path:
    """The file a local source names; refuses paths that leave the data directory."""
    path = (data_dir.path / source.path).resolve()
    if not path.is_relative_to(data_dir.path):
        raise OctoglotError(f"data path '{source.path}' leaves the data directory {data_dir.path}")
    return path


def read_local(data_dir: DataDir, source: LocalSource, columns: tuple[str, ...] = ()) -> Loaded:
    path = local_file(data_dir, source)
    if not path.is_file():
        raise OctoglotError(f"data file {path}: not found (data directory from {data_dir.origin})")
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if source.sha256 and digest != source.sha256:
        raise OctoglotError(
            f"data file {path}: checksum mismatch: expected sha256 {source.sha256[:12]}…, got {digest[:12]}…"
        )
    rows = decode_rows(blob, source.file_format, str(path), columns, source.columns)
    return Loaded(rows, {"kind": "local", "path": source.path, "sha256": digest})


def decode_rows(blob: bytes, fmt: str, where: str, columns: tuple[str, ...] = (),
                names: list[str] | None = None) -> list[dict]:
    """A data file's bytes as rows: UTF-8, parsed by format, at least one row, with the columns a task needs;
    ``where`` names the file in every error."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OctoglotError(f"data file {where}: not valid UTF-8 at byte {exc.start}") from None
    rows = parse_rows(text, fmt, where, names)
    if not rows:
        raise OctoglotError(f"data file {where}: no rows")
    check_columns(rows, columns, where)
    return rows


def parse_rows(text: str, fmt: str, where: str, columns: list[str] | None = None) -> list[dict]:
    if fmt in ("tsv", "csv"):
        delimiter = "\t" if fmt == "tsv" else ","
        quoting = csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL
        reader = csv.DictReader(io.StringIO(text, newline=""), fieldnames=columns, delimiter=delimiter,
                                quoting=quoting)
        return list(reader)
    if fmt == "jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise OctoglotError(f"data file {where}: line {number}: invalid JSON: {exc.msg}") from None
        return rows
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OctoglotError(f"data file {where}: invalid JSON: {exc.msg} (line {exc.lineno})") from None
        return data if isinstance(data, list) else [data]
    if fmt == "python-literals":
        return [python_literals(text, where)]
    return [{"text": line} for line in text.splitlines()]


def python_literals(text: str, where: str) -> dict:
    """The ``NAME = <literal>`` assignments of a Python source file, parsed, never executed."""
    try:
        tree = ast.parse(text)
        return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    except (SyntaxError, ValueError) as exc:
        raise OctoglotError(f"data file {where}: expected only literal assignments: {exc}") from None


def check_columns(rows: list[dict], columns: tuple[str, ...], where: str) -> None:
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise OctoglotError(
            f"data file {where}: expected columns {', '.join(columns)}; missing {', '.join(missing)} "
            f"(found {', '.join(map(str, rows[0]))})"
        )


def read_hub_file(source: HubSource, columns: tuple[str, ...] = (), hint: str | None = None) -> Loaded:
    """One file of a hub dataset repository at the pinned revision, parsed as a local file would be."""
    from huggingface_hub import hf_hub_download

    where = f"{source.id}@{source.revision[:8]}: {source.file}"
    try:
        path = Path(hf_hub_download(source.id, source.file, repo_type="dataset", revision=source.revision))
    except Exception as exc:  # huggingface_hub raises many types; all mean "not available here"
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise OctoglotError(f"hub dataset {where}: {first} "
                            f"({hint or f'no local data: pass --data-dir or set ${ENV_VAR}'})") from None
    blob = path.read_bytes()
    rows = decode_rows(blob, file_format(source.file), where, columns)
    provenance = {"kind": "hub", "id": source.id, "file": source.file, "revision": source.revision,
                  "sha256": hashlib.sha256(blob).hexdigest()}
    return Loaded(rows, provenance)


def read_hub(source: HubSource, columns: tuple[str, ...] = (), hint: str | None = None) -> Loaded:
    if source.file is not None:
        return read_hub_file(source, columns, hint)
    import datasets

    where = f"{source.id}" + (f" ({source.config})" if source.config else "")
    try:
        ds = datasets.load_dataset(source.id, source.config, split=source.split, revision=source.revision)
    except Exception as exc:  # datasets raises many types; all mean "not available here"
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise OctoglotError(
            f"hub dataset {where}@{source.revision[:8]}: {first} "
            f"({hint or f'no local data: pass --data-dir or set ${ENV_VAR}'})"
        ) from None
    rows = [dict(row) for row in ds]
    if not rows:
        raise OctoglotError(f"hub dataset {where}: split '{source.split}' is empty")
    check_columns(rows, columns, f"hub dataset {where}")
    provenance = {"kind": "hub", "id": source.id, "config": source.config, "split": source.split,
                  "revision": source.revision}
    return Loaded(rows, provenance)


def load_task_data(entry: TaskEntry, data_dir: DataDir | None, columns: tuple[str, ...] = (),
                   where: str = "") -> Loaded:
    """Read a task's rows from the local directory when it has them, else from the hub. ``where`` names the
    (task, language) for the error of a pair only the hub has."""
    if data_dir is not None and entry.local is not None:
        return read_local(data_dir, entry.local, columns)
    if entry.hub is not None:
        hint = None
        if data_dir is not None:
            hint = (f"{where or 'this task'} is only on the hub, not in the data directory: "
                    "leave the language out with --langs")
        return read_hub(entry.hub, columns, hint)
    raise OctoglotError(
        f"task data {entry.local.path}: needs a local data directory (--data-dir or ${ENV_VAR}); "
        "it has no hub source"
    )


def load_extras(entry: TaskEntry, data_dir: DataDir | None) -> dict[str, Loaded]:
    """The further local files a task reads (references, exemplars); none without a data directory."""
    if data_dir is None or not entry.extra:
        return {}
    return {role: read_local(data_dir, source) for role, source in entry.extra.items()}


def availability(entry: TaskEntry, data_dir: DataDir | None) -> str:
    """'local' when the file is present, 'hub' when only the hub can serve it, else 'missing'."""
    if data_dir is not None and entry.local is not None and local_file(data_dir, entry.local).is_file():
        return "local"
    return "hub" if entry.hub is not None else "missing"


def verify(data_dir: DataDir, entries: list[tuple[str, str, TaskEntry]]) -> tuple[list[str], list[str]]:
    """Check every local file the packs name against the pack's sha256.

    Returns (problems, warnings): a missing or altered file that a pack reads is a
    problem; an entry of the directory's own SHA256SUMS that does not match (a file no
    pack reads, such as a provenance note) is a warning.
    """
    problems: list[str] = []
    used: set[Path] = set()
    for lang, task, entry in entries:
        if entry.local is None:
            continue
        path = local_file(data_dir, entry.local)
        used.add(path)
        if not path.is_file():
            problems.append(f"{lang}/{task}: {entry.local.path}: missing")
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if entry.local.sha256 and digest != entry.local.sha256:
            problems.append(f"{lang}/{task}: {entry.local.path}: checksum mismatch (expected {entry.local.sha256[:12]}…)")
    warnings: list[str] = []
    sums = data_dir.path / "SHA256SUMS"
    if sums.is_file():
        for line in sums.read_text(encoding="utf-8").splitlines():
            expected, _, name = line.partition("  ")
            path = (data_dir.path / name.strip()).resolve()
            if not name.strip() or path in used:
                continue
            if not path.is_relative_to(data_dir.path) or not path.is_file():
                warnings.append(f"SHA256SUMS: {name.strip()}: missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != expected:
                warnings.append(f"SHA256SUMS: {name.strip()}: checksum differs (no pack reads this file)")
    return problems, warnings
