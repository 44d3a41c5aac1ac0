"""Stored verdicts of ``octoglot check-backend``, keyed by the checked model's identity, and the one line
that runs, terminal reports and leaderboards show when a backend failed or disagreed with its reference."""

from __future__ import annotations

import json
from pathlib import Path

from harness.core.locations import cache_dir

SUMMARY = ("verdict", "reference", "max_abs_diff", "mean_abs_diff", "max_per_token", "mean_per_token", "per",
           "argmax_agreement", "tolerance", "requests", "error", "checked")


def store_path(key: str) -> Path:
    return cache_dir() / "backend-checks" / f"{key}.json"


def save(key: str, result: dict) -> Path:
    path = store_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def stored(key: str) -> dict | None:
    """The last check of the model with this identity key, if one was made."""
    path = store_path(key)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def summary(check: dict) -> dict:
    """What a run's manifest records of a stored check."""
    return {k: check.get(k) for k in SUMMARY}


def flag(check: dict | None) -> str | None:
    """One line for reports when a run's backend failed or disagreed with its reference; None otherwise."""
    if not check or check.get("verdict") == "agrees":
        return None
    if check.get("verdict") == "failed":
        return f"backend check failed against {check['reference']}: {check.get('error')}"
    return (f"backend disagrees with {check['reference']}: mean |Δ log-likelihood| {check['mean_per_token']:.3g} "
            f"nats per {check.get('per') or 'token'} > {check['tolerance']} (max {check['max_abs_diff']:.3g} per "
            f"request; same option on {check['argmax_agreement']:.0%} of items; octoglot check-backend)")
