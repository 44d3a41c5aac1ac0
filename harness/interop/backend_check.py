"""``octoglot check-backend``: does a backend compute the log-likelihoods a reference computes?

A served model can answer every request and still score them wrong: llama-cpp-python 0.3.36 returns echo
log-probabilities shifted by one token (its issue #1983); through lm-eval's ``local-completions`` its
server answers HTTP 500 to tokenized prompts, and with ``tokenized_requests=False`` every single-token
continuation scores 0. Accuracy alone hides this. The check sends the same log-likelihood requests
(multiple-choice tasks, a seeded sample per language) to the checked backend and to a reference (default:
the bundled model on transformers, the same weights as the bundled GGUF a server would load) and reports:

- ``max_abs_diff`` / ``mean_abs_diff``: |Δ log-likelihood| per request, in nats;
- ``max_per_token`` / ``mean_per_token``: the same divided by the continuation's length in tokens (the
  reference's tokenizer; UTF-8 bytes when the reference has none), since a quantized backend's error grows
  with the continuation;
- ``argmax_agreement``: the share of items where both pick the same option;
- ``verdict``: ``agrees`` when every request was answered and the mean |Δ| per token ≤ ``tolerance``;
  ``disagrees`` when it is beyond; ``failed`` when the backend answered with an error.

``TOLERANCE`` is 0.25 nats per token. Measured (``bench/llama_cpp_agreement.py``) on SIB-200 + XCOPA (en de th it, 2 items each, 64 requests) against
the bundled SmolLM2 in float32: llama.cpp computing correctly on the Q4_1 GGUF (its own ``eval`` and logits, so
4-bit weights and 8-bit activations) differs by 0.051 nats/token on average (max 0.23 per token, 1.31 per
request; the same option picked on every item); llama_cpp.server's echo log-probabilities, shifted by one
token, differ by 8.2 nats/token on average (max 635 per request; the same option on 25% of items). A backend
that computes the same thing in another way (transformers without shared-prefix scoring) differs by < 1e-4.

The verdict is stored under the octoglot cache, keyed by the checked model's identity (the response
cache's key); ``octoglot run`` on that model records it in the manifest and flags the run when it is
not ``agrees``.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

from harness.core import backend_verdicts
from harness.core.errors import OctoglotError
from harness.reporting.markdown import md_table
from harness.execution import prefix
from harness.execution.cache import model_key
from harness.execution.plan import RunConfig, plan
from harness.execution.worker import ModelSettings, Worker

TOLERANCE = 0.25  # nats per continuation token, mean over requests
DEFAULT_TASKS = "sib200,xcopa"


def compare(reference: list[list[tuple[float, bool]]], checked: list[list[tuple[float, bool]]],
            lengths: list[list[int]], tolerance: float) -> dict:
    """|Δ| per request and per continuation token (``lengths``), and per-item argmax agreement, of two
    backends' answers to the same groups."""
    diffs, per_token, same = [], [], 0
    for ref_group, got_group, sizes in zip(reference, checked, lengths):
        ref = [ll for ll, _ in ref_group]
        got = [ll for ll, _ in got_group]
        group_diffs = [abs(a - b) if math.isfinite(b) else math.inf for a, b in zip(ref, got)]
        diffs += group_diffs
        per_token += [d / max(n, 1) for d, n in zip(group_diffs, sizes)]
        same += max(range(len(ref)), key=ref.__getitem__) == max(range(len(got)), key=got.__getitem__)
    mean = sum(per_token) / len(per_token) if per_token else 0.0
    return {"requests": len(diffs), "max_abs_diff": max(diffs, default=0.0),
            "mean_abs_diff": sum(diffs) / len(diffs) if diffs else 0.0,
            "max_per_token": max(per_token, default=0.0), "mean_per_token": mean,
            "argmax_agreement": same / len(reference) if reference else 1.0,
            "verdict": "agrees" if mean <= tolerance else "disagrees"}


def continuation_lengths(lm, groups) -> tuple[list[list[int]], str]:
    """Each continuation's length in the reference's tokens, or in UTF-8 bytes without a tokenizer."""
    if prefix.supported(lm):
        return [[len(prefix.encode(lm, c, t)[1]) for c, t in group] for group in groups], "token"
    return [[len(t.encode("utf-8")) for _, t in group] for group in groups], "byte"


def check(model: str, model_args: str | None, reference: str, reference_args: str | None, tasks, langs,
          limit: int, data_dir: str | None, seed: int = 1234, batch_size: int = 8, device: str = "cpu",
          tolerance: float = TOLERANCE) -> dict:
    chosen = [t for t in tasks if t.kind == "loglikelihood"]
    if not chosen:
        raise OctoglotError("--tasks: check-backend needs log-likelihood (multiple-choice) tasks, e.g. sib200,xcopa")
    config = RunConfig(model=model, model_args=model_args, tasks=chosen, langs=langs, limit=limit, seed=seed,
                       output=Path("."), data_dir=data_dir)
    units, _ = plan(config)
    groups, where = [], []
    for unit in units:
        for sample in unit.samples:
            groups.append(sample.loglikelihood_requests())
            where.append((unit.task.id, unit.lang, sample.id))

    def worker(name: str, args: str | None, shared_prefix: bool) -> Worker:
        return Worker(ModelSettings(name, args, batch_size, device, seed, None, use_cache=False,
                                    shared_prefix=shared_prefix))

    # the checked backend through lm-eval's own per-request path: on transformers, a second way to compute
    checked_worker = worker(model, model_args, shared_prefix=False)
    reference_worker = worker(reference, reference_args, shared_prefix=True)
    spec = checked_worker.spec
    result = {"model": model, "identity": spec.identity, "reference": reference,
              "reference_identity": reference_worker.spec.identity, "tolerance": tolerance,
              "tasks": [t.id for t in chosen], "langs": [lang.code for lang in langs], "limit": limit, "seed": seed,
              "checked": datetime.now(timezone.utc).isoformat(timespec="seconds"), "error": None}
    ref = reference_worker.engine.loglikelihood(groups)
    try:
        got = checked_worker.engine.loglikelihood(groups)
    except OctoglotError:
        raise
    except Exception as exc:  # noqa: BLE001 - the backend's failure is the finding
        text = str(exc).strip()
        result.update({"verdict": "failed", "requests": sum(len(g) for g in groups), "max_abs_diff": None,
                       "mean_abs_diff": None, "max_per_token": None, "mean_per_token": None, "per": None,
                       "argmax_agreement": None,
                       "error": f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")})
    else:
        lengths, unit = continuation_lengths(reference_worker.engine.lm, groups)
        result.update(compare(ref, got, lengths, tolerance), per=unit)
        result["worst"] = worst_requests(groups, where, ref, got)
    result["stored"] = str(backend_verdicts.save(model_key(spec.backend, spec.args, spec.identity), result))
    return result


def worst_requests(groups, where, ref, got, n: int = 5) -> list[dict]:
    rows = []
    for group, (task, lang, item), ref_group, got_group in zip(groups, where, ref, got):
        for (context, continuation), (a, _), (b, _) in zip(group, ref_group, got_group):
            rows.append({"task": task, "lang": lang, "item": item, "continuation": continuation,
                         "reference": a, "checked": b, "abs_diff": abs(a - b)})
    return sorted(rows, key=lambda r: -r["abs_diff"])[:n]


def markdown(result: dict) -> str:
    rows = [["model", result["model"]], ["reference", result["reference"]], ["requests", result["requests"]]]
    if result["verdict"] == "failed":
        rows.append(["error", result["error"]])
    else:
        per = result["per"]
        rows += [["max |Δ log-likelihood| per request", f"{result['max_abs_diff']:.3g}"],
                 ["mean |Δ log-likelihood| per request", f"{result['mean_abs_diff']:.3g}"],
                 [f"max |Δ| per {per}", f"{result['max_per_token']:.3g}"],
                 [f"mean |Δ| per {per} (the verdict's measure)", f"{result['mean_per_token']:.3g}"],
                 ["argmax agreement", f"{result['argmax_agreement']:.1%}"]]
    rows += [[f"tolerance (mean nats per {result.get('per') or 'token'})", result["tolerance"]],
             ["verdict", f"**{result['verdict']}**"]]
    return "\n".join(md_table(["check", "value"], rows))
