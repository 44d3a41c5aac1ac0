"""Reading stored run directories back, without a model: what the leaderboard and compare use."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import OctoglotError
from harness.records import FORMAT_VERSION


@dataclass
class Run:
    path: Path
    manifest: dict
    scores: list[dict]  # results.json "scores": {task, lang, metric, value, stderr, ci95, n, ...}
    units: dict[tuple[str, str], dict] = field(default_factory=dict)  # (task, lang) -> manifest unit

    @property
    def model(self) -> str:
        """A label for the model: the alias or backend name, plus `pretrained` when it is not an alias."""
        model = self.manifest["model"]
        if model["identity"].get("alias"):
            return model["name"]
        pretrained = model["args"].get("pretrained") or model["args"].get("model")
        return f"{model['name']}:{pretrained}" if pretrained else model["name"]

    def samples(self, task: str, lang: str) -> list[dict]:
        path = self.path / "samples" / lang / f"{task}.jsonl"
        if not path.is_file():
            raise OctoglotError(f"run folder {self.path}: samples/{lang}/{task}.jsonl is missing")
        records = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise OctoglotError(f"run folder {self.path}: samples/{lang}/{task}.jsonl line {number}: "
                                        f"invalid JSON: {exc.msg}") from None
        return records


def _read_json(path: Path, run_dir: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OctoglotError(f"run folder {run_dir}: {path.name} is missing (is this an octoglot run directory?)") \
            from None
    except json.JSONDecodeError as exc:
        raise OctoglotError(f"run folder {run_dir}: {path.name}: invalid JSON: {exc.msg} (line {exc.lineno})") \
            from None


def load_run(path: str | Path) -> Run:
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise OctoglotError(f"run folder {run_dir}: not a directory")
    manifest = _read_json(run_dir / "manifest.json", run_dir)
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise OctoglotError(f"run folder {run_dir}: manifest.json: format_version is missing")
    if version > FORMAT_VERSION:
        raise OctoglotError(f"run folder {run_dir}: format version {version} is newer than this octoglot reads "
                            f"({FORMAT_VERSION}); upgrade octoglot")
    results = _read_json(run_dir / "results.json", run_dir)
    units = {(u["task"], u["lang"]): u for u in manifest.get("units", [])}
    return Run(run_dir, manifest, results.get("scores", []), units)


def comparable_key(run: Run, task: str, lang: str) -> dict:
    """What must match for two scores of (task, lang) to measure the same thing."""
    unit = run.units.get((task, lang), {})
    data = unit.get("data", {})
    limit = run.manifest.get("limit")
    return {
        "task_version": unit.get("task_version"),
        "prompt_hash": unit.get("prompt_hash"),
        "data": data.get("sha256") or data.get("revision"),
        "limit": limit.get(task) if isinstance(limit, dict) else limit,
        "seed": run.manifest.get("seeds", {}).get("sampling"),
    }


def mismatch(a: Run, b: Run, task: str, lang: str) -> str | None:
    """Why two runs' scores of (task, lang) must not be combined, or None when they may."""
    key_a, key_b = comparable_key(a, task, lang), comparable_key(b, task, lang)
    names = {"task_version": "task version", "prompt_hash": "prompt hash", "data": "data checksum/revision",
             "limit": "item limit", "seed": "sampling seed"}
    for field_name, label in names.items():
        if key_a[field_name] != key_b[field_name]:
            return f"{label} differs ({key_a[field_name]} vs {key_b[field_name]})"
    return None
