"""``octoglot validate``: do octoglot and plain lm-eval measure the same thing on this model?

For the chosen tasks and languages: export them as lm-eval tasks (``harness.export``), run
``octoglot run`` (no response cache) and lm-eval's ``simple_evaluate`` on the exported tasks with
the same model, then compare item by item:

- log-likelihood tasks: every option's log-likelihood (max |Δ| must be ≤ ``tolerance``, 1e-4:
  octoglot's shared-prefix scoring and other batch padding change float rounding; SmolLM2 in
  float32 on CPU: up to 6e-5 on 20-30-token Thai options, the error grows with length), the
  per-item metrics (octoglot ``acc_norm`` is lm-eval ``acc_bytes``) and the scores;
- generation tasks: the greedy generations (identical strings), the per-item metrics (exact match
  after lm-eval's exported filter against octoglot's extractor) and the scores (corpus chrF++ and
  BLEU for translation).

The chat template: lm-eval gets it for the generation tasks exactly when octoglot applies it
(``chat_template``, default: octoglot's default for the model, on for instruct aliases) and never
for log-likelihood tasks, as in octoglot. The result is a parity table, one row per (task,
language, metric); ``main`` prints it as Markdown and returns 1 when any row fails.
"""

from __future__ import annotations

import argparse
import gc
import math
import shutil
import tempfile
import time
from pathlib import Path

from harness.core import records
from harness.core.errors import OctoglotError
from harness.core.languages import parse_langs
from harness.execution import models
from harness.execution.plan import RunConfig
from harness.execution.run import execute
from harness.interop.export import FILTER, export_lmeval
from harness.reporting.markdown import md_table
from harness.scoring.aggregate import write_results
from harness.tasks.registry import get_task

TOLERANCE = 1e-4
SCORE_TOLERANCE = 1e-9  # the same per-item values give the same mean; corpus metrics: same hypotheses


def run_lmeval(export_dir: Path | list[Path], exported: list[dict], backend: str, args: dict[str, str], *,
               batch_size: int = 8, device: str = "cpu", chat_template: bool = False) -> dict[str, dict]:
    """Plain lm-eval on the exported tasks (``exported``: rows of ``export_lmeval(...)["tasks"]``, from
    one export folder or several): {task name: {"results": {...}, "samples": [...]}}.

    One model instance, two ``simple_evaluate`` calls: log-likelihood tasks without the chat
    template, generation tasks with it when ``chat_template``."""
    import lm_eval
    import lm_eval.models  # noqa: F401  (registers the backends)
    from lm_eval.api.registry import get_model
    from lm_eval.tasks import TaskManager

    arg_string = ",".join(f"{k}={v}" for k, v in args.items())
    lm = get_model(backend).create_from_arg_string(arg_string, {"batch_size": batch_size, "device": device})
    dirs = [str(d) for d in export_dir] if isinstance(export_dir, list) else str(export_dir)
    manager = TaskManager(include_path=dirs, include_defaults=False)
    out: dict[str, dict] = {}
    for generation in (False, True):
        names = [t["name"] for t in exported if (t["output_type"] == "generate_until") == generation]
        if not names:
            continue
        evaluated = lm_eval.simple_evaluate(model=lm, tasks=names, task_manager=manager, log_samples=True,
                                            apply_chat_template=chat_template if generation else False,
                                            bootstrap_iters=0, batch_size=batch_size, device=device)
        for name in names:
            out[name] = {"results": evaluated["results"][name], "samples": evaluated["samples"][name]}
    del lm
    gc.collect()
    return out


def _scores(run_dir: Path) -> dict[tuple[str, str, str], float]:
    import json

    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return {(s["task"], s["lang"], s["metric"]): s["value"] for s in results["scores"]}


def _close(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tol or (math.isnan(a) and math.isnan(b))


def compare(exported: list[dict], run_dir: Path, lmeval: dict[str, dict], tolerance: float = TOLERANCE) -> list[dict]:
    """The parity table: one row per (task, language, metric) of the exported tasks."""
    scores = _scores(run_dir)
    rows: list[dict] = []
    for t in exported:
        task, lang, name = t["task"], t["lang"], t["name"]
        ours = records.read_samples(run_dir, lang, task)
        theirs_all = lmeval[name]["samples"]
        filter_key = "none" if t["output_type"] == "multiple_choice" else FILTER
        theirs = {s["doc"]["id"]: s for s in theirs_all if s["filter"] == filter_key}
        results = lmeval[name]["results"]
        notes: list[str] = []
        errors = [r["id"] for r in ours if r["error"]]
        if errors:
            notes.append(f"{len(errors)} octoglot sample(s) failed")
        same_items = [r["id"] for r in ours] == list(theirs)
        if not same_items:
            notes.append("the two runs scored different items")
        paired = [(r, theirs[r["id"]]) for r in ours if r["id"] in theirs and not r["error"]]
        base = {"task": task, "lang": lang, "n": len(ours), "n_lmeval": len(theirs)}

        if t["output_type"] == "multiple_choice":
            deltas = [abs(a - float(b[0])) for r, s in paired
                      for a, b in zip(r["loglikelihoods"], s["filtered_resps"], strict=True)]
            max_delta = max(deltas) if deltas else None
            for metric, lm_metric in ((m.name, m.lm_eval) for m in get_task(task).metrics if m.lm_eval):
                agree = sum(r["metrics"][metric] == s[lm_metric] for r, s in paired)
                row = {**base, "metric": f"{metric}" + (f" (lm-eval {lm_metric})" if lm_metric != metric else ""),
                       "max_abs_delta": max_delta, "generations_identical": None,
                       "per_item_agree": f"{agree}/{len(paired)}",
                       "score_octoglot": scores.get((task, lang, metric)),
                       "score_lmeval": results.get(f"{lm_metric},none")}
                ok = (same_items and not errors and max_delta is not None and max_delta <= tolerance
                      and agree == len(paired) and _close(row["score_octoglot"], row["score_lmeval"], SCORE_TOLERANCE))
                rows.append({**row, "ok": ok, "note": "; ".join(notes + _mc_notes(max_delta, tolerance))})
            continue

        identical = sum(r["response"] == s["resps"][0][0] for r, s in paired)
        gen_notes = list(notes)
        retried = sum(s["resps"][0][0] == "" and r["response"] != "" for r, s in paired)
        if retried:
            gen_notes.append(f"{retried} empty lm-eval generation(s) that octoglot asked again after a leading "
                             "newline (see the export README)")
        if identical < len(paired):
            gen_notes.append(f"{len(paired) - identical} generation(s) differ")
        definition = get_task(task)
        metric_pairs = []
        exported_metrics = [m.split(",")[0] for m in results if m.endswith(f",{FILTER}") and "_stderr" not in m]
        for metric in exported_metrics:
            if definition.metric(metric).kind == "corpus":  # the same cleaned hypotheses give the same corpus score
                agree = sum((r["extracted"] or "") == s["filtered_resps"][0] for r, s in paired)
                if agree < len(paired):
                    gen_notes.append(f"{len(paired) - agree} cleaned hypothesis/es differ")
            else:
                agree = sum(r["metrics"][metric] == s[metric] for r, s in paired)
                same_text = [(r, s) for r, s in paired if r["response"] == s["resps"][0][0]]
                filter_diff = sum(r["metrics"][metric] != s[metric] for r, s in same_text)
                if filter_diff:
                    gen_notes.append(f"{filter_diff} identical generation(s) scored differently: the export's regex "
                                     "filter does not read them as octoglot does (see the export README)")
            metric_pairs.append((metric, metric, agree))
        gen_notes = list(dict.fromkeys(gen_notes))
        for metric, lm_metric, agree in metric_pairs:
            row = {**base, "metric": metric, "max_abs_delta": None,
                   "generations_identical": f"{identical}/{len(paired)}", "per_item_agree": f"{agree}/{len(paired)}",
                   "score_octoglot": scores.get((task, lang, metric)),
                   "score_lmeval": results.get(f"{lm_metric},{FILTER}")}
            corpus = definition.metric(metric).kind == "corpus"
            ok = (same_items and not errors and identical == len(paired) and agree == len(paired)
                  and _close(row["score_octoglot"], row["score_lmeval"], 1e-6 if corpus else SCORE_TOLERANCE))
            rows.append({**row, "ok": ok, "note": "; ".join(gen_notes)})
    return rows


def _mc_notes(max_delta: float | None, tolerance: float) -> list[str]:
    if max_delta is not None and max_delta > tolerance:
        return [f"log-likelihoods differ by up to {max_delta:.2e} (tolerance {tolerance:.0e})"]
    return []


def parity(model: str, model_args: str | None, tasks, langs, limit: int | None, data_dir: str | None, *,
           seed: int = 1234, batch_size: int = 8, device: str = "cpu", chat_template: bool | None = None,
           tolerance: float = TOLERANCE, workdir: Path | None = None) -> dict:
    """Export, run both, compare. Returns {"rows", "seconds", "chat_template", "export", "workdir"}.

    Without ``workdir`` the work happens in a temporary folder, removed when every row is ok and
    kept (``"workdir"``) for inspection when one fails: the export, and the octoglot run under runs/."""
    task_ids = _split(tasks)
    lang_codes = _split(langs)
    spec = models.resolve(model, model_args)  # fails early on a bad model, before any work
    chat = spec.instruct if chat_template is None else chat_template
    temporary = workdir is None
    root = Path(tempfile.mkdtemp(prefix="octoglot-validate-")) if temporary else Path(workdir)
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    result = export_lmeval(root / "lm-eval", task_ids, lang_codes, data_dir, limit=limit, seed=seed)
    seconds["export"] = time.perf_counter() - started
    exported = result["tasks"]
    if not exported:
        raise OctoglotError("validate: none of the chosen tasks can be exported to lm-eval "
                            f"(see {result['out']}/NOT_EXPORTED.md)")

    started = time.perf_counter()
    config = RunConfig(model=model, model_args=model_args,
                       tasks=[get_task(t) for t in dict.fromkeys(e["task"] for e in exported)],
                       langs=parse_langs(",".join(dict.fromkeys(e["lang"] for e in exported))), limit=limit,
                       seed=seed, output=root / "runs", data_dir=data_dir, batch_size=batch_size, device=device,
                       chat_template=chat, use_cache=False)
    executed = execute(config)
    write_results(executed.run_dir, executed.units, executed.results)
    run_dir = executed.run_dir
    gc.collect()
    seconds["octoglot"] = time.perf_counter() - started

    started = time.perf_counter()
    lmeval = run_lmeval(Path(result["out"]), exported, spec.backend, spec.args, batch_size=batch_size, device=device,
                        chat_template=chat)
    seconds["lm-eval"] = time.perf_counter() - started
    rows = compare(exported, run_dir, lmeval, tolerance)
    kept: str | None = str(root)
    if temporary and all(r["ok"] for r in rows):
        shutil.rmtree(root, ignore_errors=True)
        kept = None
    return {"rows": rows, "seconds": seconds, "chat_template": chat, "export": result, "workdir": kept}


def validate(model: str, model_args: str | None, tasks, langs, limit: int | None, data_dir: str | None,
             **options) -> list[dict]:
    """The parity table of octoglot against plain lm-eval for ``model`` (see the module docstring).
    ``tasks`` / ``langs``: lists or comma-separated strings (None: every exportable offline task, all
    eight languages); ``options``: seed, batch_size, device, chat_template, tolerance, workdir."""
    return parity(model, model_args, tasks, langs, limit, data_dir, **options)["rows"]


def _split(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()] or None
    return list(value) or None


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.4f}"
    return str(value)


def markdown(rows: list[dict]) -> str:
    header = ["task", "lang", "n", "metric", "max |Δ loglik|", "generations identical", "per-item agree",
              "score octoglot", "score lm-eval", "parity", "note"]
    return "\n".join(md_table(header, [[r["task"], r["lang"], r["n"], r["metric"], _fmt(r["max_abs_delta"]),
                                         _fmt(r["generations_identical"]), r["per_item_agree"],
                                         _fmt(r["score_octoglot"]), _fmt(r["score_lmeval"]),
                                         "ok" if r["ok"] else "FAIL", r["note"]] for r in rows]))


def main(args: argparse.Namespace) -> int:
    """``octoglot validate``: reads ``args.model``, ``args.model_args``, ``args.tasks``, ``args.langs``,
    ``args.limit``, ``args.data_dir`` and, when present, ``seed``, ``batch_size``, ``device``,
    ``apply_chat_template``, ``tolerance``."""
    def given(name: str, default):
        value = getattr(args, name, None)
        return default if value is None else value  # 0 is a value (--seed 0, --tolerance 0), not "unset"

    options = {"seed": given("seed", 1234), "batch_size": given("batch_size", 8), "device": given("device", "cpu"),
               "chat_template": getattr(args, "apply_chat_template", None), "tolerance": given("tolerance", TOLERANCE)}
    out = parity(args.model, getattr(args, "model_args", None), args.tasks, args.langs, getattr(args, "limit", None),
                 getattr(args, "data_dir", None), **options)
    rows = out["rows"]
    print(markdown(rows))
    s = out["seconds"]
    print(f"\nchat template for generation tasks: {'on' if out['chat_template'] else 'off'} (both harnesses); "
          f"export {s['export']:.1f} s, octoglot {s['octoglot']:.1f} s, lm-eval {s['lm-eval']:.1f} s")
    if out["workdir"]:
        print(f"export and octoglot run kept in {out['workdir']}")
    failed = [r for r in rows if not r["ok"]]
    if failed:
        print(f"octoglot: parity failed for {len(failed)} of {len(rows)} row(s)")
        return 1
    print(f"parity: all {len(rows)} row(s) ok")
    return 0
