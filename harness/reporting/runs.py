"""Reading stored run directories back, without a model: what the leaderboard, compare and the consistency
tables use. Everything a report needs to interpret a score is read from the run itself:

- format 2: every score row carries its metric facts (kind, scale, higher-is-better, primary), every unit in
  the manifest its task facts (kind, parallel), generation settings and language detector;
- format 1 (octoglot 0.1.0) carried none of these: they are filled in from ``FORMAT_1_TASKS``, the facts of the
  tasks that format could hold, frozen here as they were, never from today's task registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.errors import OctoglotError
from harness.core.metrics import FACTS, KINDS
from harness.core.records import FORMAT_VERSION, read_samples


def _facts(kind: str, scale: int, primary: bool = False) -> dict:
    return {"kind": kind, "scale": scale, "higher_is_better": True, "primary": primary}


_ACC = {"acc": _facts("binary", 1, True), "acc_norm": _facts("binary", 1)}
_CHRF = {"chrf++": _facts("corpus", 100, True), "bleu": _facts("corpus", 100), "chrf": _facts("continuous", 100),
         "lang_fidelity": _facts("binary", 1)}

# Format 1: per task, whether items are parallel across languages, the language translations are scored in
# when it is not the unit's, and each metric's facts.
FORMAT_1_TASKS: dict[str, dict] = {
    "sib200": {"parallel": True, "metrics": _ACC},
    "xcopa": {"parallel": True, "metrics": _ACC},
    "xnli": {"parallel": True, "metrics": _ACC},
    "xwinograd": {"parallel": False, "metrics": {"acc": _facts("binary", 1, True)}},
    "belebele": {"parallel": True, "metrics": {"acc": _facts("binary", 1, True)}},
    "global_mmlu": {"parallel": True, "metrics": {"acc": _facts("binary", 1, True)}},
    "mgsm": {"parallel": True, "metrics": {"exact_match": _facts("binary", 1, True),
                                           "lang_fidelity": _facts("binary", 1)}},
    "mgsm_direct": {"parallel": True, "metrics": {"exact_match": _facts("binary", 1, True)}},
    "flores_en_xx": {"parallel": True, "metrics": _CHRF},
    "flores_xx_en": {"parallel": True, "metrics": _CHRF, "target_lang": "en"},
    "ntrex_en_xx": {"parallel": True, "metrics": _CHRF},
    "xquad": {"parallel": True, "metrics": {"f1": _facts("continuous", 1, True), "exact_match": _facts("binary", 1),
                                            "lang_fidelity": _facts("binary", 1)}},
    "lcb": {"parallel": False, "metrics": {"lpr": _facts("binary", 1, True), "lpr_mono": _facts("binary", 1),
                                           "lpr_cross": _facts("binary", 1), "line_acc": _facts("continuous", 1)}},
}


@dataclass
class Run:
    path: Path
    manifest: dict
    scores: list[dict]  # results.json "scores", each row with its metric facts (FACTS)
    units: dict[tuple[str, str], dict] = field(default_factory=dict)  # (task, lang) -> manifest unit
    version: int = FORMAT_VERSION
    # (task, lang) -> its sample records, read once: the leaderboard's tables, intervals and explorer all read them
    _samples: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def model(self) -> str:
        """A label for the model: the alias or backend name, plus `pretrained` when it is not an alias."""
        model = self.manifest["model"]
        if model["identity"].get("alias"):
            return model["name"]
        pretrained = model["args"].get("pretrained") or model["args"].get("model")
        return f"{model['name']}:{pretrained}" if pretrained else model["name"]

    def samples(self, task: str, lang: str) -> list[dict]:
        """The unit's sample records (read once per run object; callers only read them)."""
        if (task, lang) not in self._samples:
            self._samples[task, lang] = read_samples(self.path, lang, task)
        return self._samples[task, lang]

    def tasks(self) -> list[str]:
        """The run's tasks, in the order it ran them."""
        return list(dict.fromkeys(task for task, _ in self.units))

    def primary(self, task: str) -> str | None:
        """The task's primary metric, as the run recorded it."""
        if self.version == 1:
            metrics = FORMAT_1_TASKS.get(task, {}).get("metrics", {})
            return next((name for name, facts in metrics.items() if facts["primary"]), None)
        return next((s["metric"] for s in self.scores if s["task"] == task and s["primary"]), None)

    def facts(self, task: str, metric: str) -> dict | None:
        """The metric's facts (``FACTS``) as the run recorded them."""
        if self.version == 1:
            return FORMAT_1_TASKS.get(task, {}).get("metrics", {}).get(metric)
        row = next((s for s in self.scores if s["task"] == task and s["metric"] == metric), None)
        return {k: row[k] for k in FACTS} if row else None

    def parallel(self, task: str) -> bool:
        return any(u.get("parallel") for (t, _), u in self.units.items() if t == task)

    def n_errors(self, task: str, lang: str) -> int:
        return int(self.units.get((task, lang), {}).get("n_errors") or 0)

    def target_lang(self, task: str, lang: str) -> str:
        """The language a unit's answers are scored in (format 1: the frozen table; format 2: not needed)."""
        return FORMAT_1_TASKS.get(task, {}).get("target_lang", lang) if self.version == 1 else lang


def _read_json(path: Path, run_dir: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OctoglotError(f"run folder {run_dir}: {path.name} is missing (is this an octoglot run directory?)") \
            from None
    except json.JSONDecodeError as exc:
        raise OctoglotError(f"run folder {run_dir}: {path.name}: invalid JSON: {exc.msg} (line {exc.lineno})") \
            from None


def _upgrade_format_1(run_dir: Path, scores: list[dict], units: dict[tuple[str, str], dict]) -> list[dict]:
    """Format 1 rows and units with the facts format 1 implied (``FORMAT_1_TASKS``)."""
    out = []
    for score in scores:
        task = FORMAT_1_TASKS.get(score.get("task"))
        if task is None:
            raise OctoglotError(f"run folder {run_dir}: results.json: unknown task '{score.get('task')}' in a format "
                                "1 run (written by a newer octoglot?)")
        facts = task["metrics"].get(score.get("metric"))
        if facts is None:
            raise OctoglotError(f"run folder {run_dir}: results.json: unknown metric '{score.get('metric')}' of "
                                f"task '{score['task']}' in a format 1 run")
        out.append({**score, **facts})
    for (task, _), unit in units.items():
        known = FORMAT_1_TASKS.get(task, {})
        unit.setdefault("parallel", known.get("parallel", False))
        unit.setdefault("generation", None)
        unit.setdefault("langid", None)
    return out


def _check_format_2(run_dir: Path, scores: list[dict]) -> None:
    for number, score in enumerate(scores, 1):
        missing = [k for k in ("task", "lang", "metric", "value", *FACTS) if k not in score]
        if missing:
            raise OctoglotError(f"run folder {run_dir}: results.json: scores[{number - 1}]: missing "
                                f"{', '.join(missing)} (format 2 rows carry their metric facts)")
        if score["kind"] not in KINDS or score["scale"] not in (1, 100):
            raise OctoglotError(f"run folder {run_dir}: results.json: scores[{number - 1}]: kind must be one of "
                                f"{', '.join(KINDS)} and scale 1 or 100, got {score['kind']!r}, {score['scale']!r}")


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
    units = {(u["task"], u["lang"]): dict(u) for u in manifest.get("units", [])}
    scores = results.get("scores", [])
    if version < 2:
        scores = _upgrade_format_1(run_dir, scores, units)
    else:
        _check_format_2(run_dir, scores)
    return Run(run_dir, manifest, scores, units, version)


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
        "generation": unit.get("generation"),
        "langid": unit.get("langid"),
    }


LABELS = {"task_version": "task version", "prompt_hash": "prompt hash", "data": "data checksum/revision",
          "limit": "item limit", "seed": "sampling seed", "generation": "generation settings",
          "langid": "language detector"}


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def mismatch(a: Run, b: Run, task: str, lang: str) -> str | None:
    """Why two runs' scores of (task, lang) must not be combined, or None when they may."""
    key_a, key_b = comparable_key(a, task, lang), comparable_key(b, task, lang)
    for field_name, label in LABELS.items():
        if key_a[field_name] != key_b[field_name]:
            verb = "differ" if label.endswith("settings") else "differs"
            return f"{label} {verb} ({_shown(key_a[field_name])} vs {_shown(key_b[field_name])})"
    return None


def corpus_scorer(task: str, metric: str):
    """The corpus score of summed per-segment statistics, from the family that declares the metric (a run stores
    the statistics and the metric's facts, not code); None when no installed family declares it."""
    from harness.tasks.registry import all_tasks

    known = all_tasks().get(task)
    declared = next((m for m in known.metrics if m.name == metric), None) if known else None
    return declared.from_statistics if declared is not None and declared.kind == "corpus" else None
