"""octoglot against plain lm-eval, on the same machine, model (smollm2), data and requests.

    python bench/vs_lmeval.py [--limit 25] [--runs 3] [--runs-same 1] [--gen-limit 5] [--lighteval] [--quick]
                              [--only loglikelihood|generation|lighteval|quick] [--data-dir ../shared/data]

Every figure printed is measured by this run. Every measurement runs each tool in fresh ("cold") processes,
the same number for both tools, and reports the median:

  1. start-up, the same work on both sides (``--runs`` processes each):
     a. listing the tasks: ``octoglot tasks`` against ``lm-eval ls tasks`` (lm-eval's console script);
     b. the same 10 (task, language) pairs made ready to run: octoglot plans them (packs, data, the seeded
        items, prompts) against lm-eval indexing the tasks ``octoglot export lm-eval`` wrote
        (``TaskManager(include_path=<export>, include_defaults=False)``), loading their documents and
        building their requests (``get_task_dict`` + ``build_all_requests``);
  2. SIB-200 (all eight languages) and XCOPA (it, th) with the same seeded items (``--runs-same``
     processes each): plain lm-eval (``hf`` backend) over the exported tasks against
     ``octoglot run --no-cache``: wall seconds, peak RSS, accuracy, the largest per-request
     |Δ log-likelihood|, and the forward passes each tool actually ran, counted by the same hook in both
     processes (below), beside octoglot's own ``forward_tokens`` counter from its manifest;
  2b. generation (``--gen-limit`` items, 0 leaves it out): MGSM direct and FLORES en→xx in every language each
     covers, greedy, the chat template on in both tools: lm-eval's ``hf`` ``generate_until`` over the exported tasks
     against ``octoglot run --no-cache``: prompts and outputs compared request by request, wall, generated tokens per
     second, forward calls and positions (hook), peak RSS (``generation``);
  2c. ``--lighteval``: XCOPA Italian, every item, against lighteval 0.13 (``bench/vs_lighteval.py``'s ``measure``);
  2d. ``--quick``: the quick suite on smollm2 (what ``make demo`` runs, ``--no-cache``): wall, peak RSS and the first
     unit's score line, against the targets (no peer runs it);
  3. a cached re-run of octoglot (the same command twice on a fresh response cache): model calls, forward
     calls (hook) and wall of the second against the first;
  4. the bootstrap CI of chrF++ over the 1012 FLORES devtest segments: octoglot's (1000 resamples)
     against lm-eval's own bootstrap stderr of ``chrf++`` (100 resamples, the cap lm-eval applies to it);
  5. harness overhead with a zero-cost model (lm-eval's ``dummy``) in both tools (``--runs`` processes
     each): each process first imports every module a run of that tool imports (found by one unmeasured
     run), so import time is measured apart and the clock then times the run alone; octoglot's share of
     that wall time not inside the model (``model_seconds`` + ``load_seconds`` of its manifest).

Cold means: a fresh process; octoglot with ``--no-cache`` and a fresh ``OCTOGLOT_CACHE`` whose ``models/``
links to the converted weights; lm-eval (and octoglot) with a fresh, empty ``HF_DATASETS_CACHE``.

Forward counting: each measured process is a child Python that installs global module hooks before the
tool runs (``torch.nn.modules.module.register_module_forward_pre_hook`` / ``..._forward_hook``). They
track call depth and count only outermost calls, i.e. the top-level forward of the causal-LM module, never
its submodules: the forward calls, the token positions of the ``input_ids`` each one receives (a
KV-cache-continued forward receives only its new positions), with padding (``numel``) and without (the
attention mask's sum over those positions, where a mask is passed; lm-eval's log-likelihood path and
octoglot's shared-prefix path pass none, so there both counts are the same).

Prints a Markdown table with the ratios (octoglot against lm-eval). Nothing here is a test; figures depend
on the machine (and on what else it is running).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TASKS = ("sib200", "xcopa")
LANGS = ("en", "de", "fr", "it", "pt", "hi", "es", "th")
SEED = 1234
BATCH = 8
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
LMEVAL_SCRIPT = Path(sys.executable).parent / "lm-eval"

# One child for every measured process. argv[1] is a JSON spec: what to run ("job"), whether to install the
# forward counter, a file of module names to import before the clock starts, and where to write the result.
CHILD = r"""
import time
T0 = time.perf_counter()
import importlib, json, sys

SPEC = json.loads(sys.argv[1])
COUNTS = {"forward_calls": 0, "tokens": 0, "tokens_unpadded": 0, "calls_with_mask": 0, "other_top_level_calls": 0,
          "forward_seconds": 0.0}


def install_forward_counter():
    # Global hooks see every module call; the depth they keep tells the outermost call (the model's own
    # forward) from the submodule calls inside it. Only outermost calls are counted, when they finish.
    import torch
    from torch.nn.modules import module as nn_module

    depth, started = [0], [0.0]

    def enter(module, args):
        if not depth[0]:
            started[0] = time.perf_counter()
        depth[0] += 1

    def leave(module, args, *rest):  # (kwargs, output) normally; (output,) when the forward raised
        depth[0] -= 1
        if depth[0] or len(rest) != 2:
            return None
        kwargs = rest[0]
        ids = kwargs.get("input_ids")
        if ids is None and args:
            ids = args[0]
        if not type(module).__module__.startswith("transformers.") or not isinstance(ids, torch.Tensor):
            COUNTS["other_top_level_calls"] += 1
            return None
        COUNTS["forward_calls"] += 1
        COUNTS["forward_seconds"] += time.perf_counter() - started[0]
        COUNTS["tokens"] += ids.numel()
        mask = kwargs.get("attention_mask")
        if mask is None and len(args) > 1:
            mask = args[1]
        if isinstance(mask, torch.Tensor) and mask.dim() == 2 and mask.shape[0] == ids.shape[0]:
            COUNTS["calls_with_mask"] += 1
            COUNTS["tokens_unpadded"] += int(mask[:, -ids.shape[-1]:].sum())  # the positions this call adds
        else:
            COUNTS["tokens_unpadded"] += ids.numel()
        return None

    nn_module.register_module_forward_pre_hook(enter)
    nn_module.register_module_forward_hook(leave, with_kwargs=True, always_call=True)


def preimport(path):
    for name in json.load(open(path)):
        if name in sys.modules or name.startswith("__") or name == "_bench_child":
            continue
        try:
            importlib.import_module(name)
        except Exception:  # modules made at run time (a dataset builder's), or only importable in context
            pass


def octoglot(spec):
    from harness.cli import main

    return main(spec["argv"]), {}


def planned_units(spec):
    # octoglot's plan of spec's tasks, languages, limit and seed: its units and their samples, prompts rendered
    from pathlib import Path

    from harness.core.languages import parse_langs
    from harness.execution.plan import RunConfig, plan
    from harness.tasks.registry import parse_tasks

    config = RunConfig(model="dummy", model_args=None, tasks=parse_tasks(",".join(spec["tasks"])),
                       langs=parse_langs(",".join(spec["langs"])), limit=spec["limit"], seed=spec["seed"],
                       output=Path("."), data_dir=spec["data_dir"], command=[])
    return plan(config)[0]


def octoglot_plan(spec):
    units = planned_units(spec)
    return 0, {"units": len(units), "requests": sum(len(s.loglikelihood_requests()) for u in units for s in u.samples)}


def float64_loglikelihood(spec):
    # The exact value to judge two float32 paths by: the requests of the samples named, rebuilt as octoglot plans
    # them, scored by lm-eval's own path with the model in float64, one request at a time (no padding).
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    samples = {(s.task, s.lang, s.id): s for u in planned_units(spec) for s in u.samples}
    pairs = [samples[(task, lang, sid)].loglikelihood_requests()[option] for task, lang, sid, option in spec["which"]]
    lm = HFLM(pretrained=spec["model"], dtype="float64", batch_size=1, device="cpu")
    out = lm.loglikelihood([Instance("loglikelihood", {}, p, i) for i, p in enumerate(pairs)], disable_tqdm=True)
    return 0, {"ll": [float(ll) for ll, _ in out]}


def lmeval_tasks(spec):
    from lm_eval.tasks import TaskManager, get_task_dict

    manager = TaskManager(include_path=spec["include"], include_defaults=False)
    tasks = get_task_dict(spec["names"], manager)
    requests = 0
    for task in tasks.values():
        task.build_all_requests(limit=None, rank=0, world_size=1)
        requests += len(task.instances)
    return 0, {"units": len(tasks), "requests": requests}


def lmeval_run(spec):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    if spec["model"] == "dummy":
        lm = "dummy"
    else:
        from lm_eval.models.huggingface import HFLM

        lm = HFLM(pretrained=spec["model"], dtype="float32", batch_size=spec["batch"], device="cpu")
    manager = TaskManager(include_path=spec["include"], include_defaults=False)
    res = simple_evaluate(model=lm, tasks=spec["names"], task_manager=manager, log_samples=True,
                          batch_size=spec["batch"], device="cpu")
    out = {"acc": {}, "samples": {}}
    for name in spec["names"]:
        out["acc"][name] = res["results"][name].get("acc,none")
        out["samples"][name] = [
            {"id": s["doc"]["id"], "ll": [r[0][0] if isinstance(r[0], (list, tuple)) else r[0] for r in s["resps"]]}
            for s in res["samples"][name]]
    return 0, out


def lmeval_generate(spec):
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    lm = HFLM(pretrained=spec["model"], dtype="float32", batch_size=spec["batch"], device="cpu")
    manager = TaskManager(include_path=spec["include"], include_defaults=False)
    res = simple_evaluate(model=lm, tasks=spec["names"], task_manager=manager, log_samples=True,
                          batch_size=spec["batch"], device="cpu", apply_chat_template=spec["chat"])
    return 0, {name: [{"id": str(s["doc"]["id"]), "prompt": s["arguments"][0][0], "response": s["resps"][0][0]}
                      for s in res["samples"][name]] for name in spec["names"]}


def flores(spec):
    from pathlib import Path

    refs = Path(spec["data_dir"], "flores200/devtest/deu_Latn.devtest").read_text(encoding="utf-8").splitlines()
    return refs, [" ".join(r.split()[:-1]) if i % 2 else r for i, r in enumerate(refs)]


def octoglot_bootstrap(spec):
    from harness.scoring.statistics import bootstrap
    from harness.tasks.families import translation

    refs, hyps = flores(spec)
    metric = translation.make_metric("chrf++", "de")
    started = time.perf_counter()
    stats = translation.segment_statistics(hyps, refs, metric)
    std, low, high = bootstrap(stats, lambda s: metric._compute_score_from_stats(s).score, resamples=spec["resamples"])
    return 0, {"seconds": time.perf_counter() - started, "segments": len(refs), "stderr": std, "ci": [low, high]}


def lmeval_bootstrap(spec):
    from lm_eval.api.metrics import chrfpp, stderr_for_metric

    refs, hyps = flores(spec)
    items = list(zip(refs, hyps))
    started = time.perf_counter()
    std = stderr_for_metric(chrfpp, bootstrap_iters=spec["resamples"])(items)
    return 0, {"seconds": time.perf_counter() - started, "segments": len(refs), "stderr": std}


if SPEC.get("count_forward"):
    install_forward_counter()
if SPEC.get("preimport"):
    preimport(SPEC["preimport"])
before = set(sys.modules)
T1 = time.perf_counter()
rc, result = globals()[SPEC["job"]](SPEC)
T2 = time.perf_counter()
report = {"rc": rc, "imports_s": T1 - T0, "work_s": T2 - T1, "counts": COUNTS, "result": result,
          "late_modules": len(set(sys.modules) - before)}
if SPEC.get("record_modules"):
    report["modules"] = [m for m in list(sys.modules) if not m.startswith("__")]
with open(SPEC["out"], "w") as fh:
    json.dump(report, fh)
sys.stdout.flush()
sys.exit(rc)
"""


class Bench:
    def __init__(self, work: Path, data_dir: str, models_dir: Path):
        self.work = work
        self.data_dir = data_dir
        self.models_dir = models_dir
        self.n = 0

    def fresh(self, label: str, cache: Path | None = None) -> tuple[Path, dict]:
        """A fresh folder for one process, and its environment: an empty HF_DATASETS_CACHE, and an
        OCTOGLOT_CACHE (``cache``, else a new one with no responses) whose models/ links to the converted weights."""
        self.n += 1
        folder = self.work / f"{self.n:03d}-{label}"
        folder.mkdir(parents=True)
        if cache is None:
            cache = folder / "octoglot-cache"
            cache.mkdir()
            (cache / "models").symlink_to(self.models_dir)
        env = {**ENV, "OCTOGLOT_CACHE": str(cache), "HF_DATASETS_CACHE": str(folder / "hf-datasets")}
        return folder, env

    def process(self, cmd: list[str], folder: Path, env: dict, ok=(0, 1)) -> tuple[float, float, int]:
        """Wall seconds and the child's own peak RSS (MB, from wait4) of one process; output to files."""
        with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=REPO)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            tail = (folder / "stderr.txt").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{' '.join(map(str, cmd[:6]))[:300]} failed ({code}); {folder}:\n{tail}")
        return wall, usage.ru_maxrss / 1024, code

    def child(self, label: str, job: str, cache: Path | None = None, **spec) -> dict:
        """Run CHILD for ``job`` in a fresh process; its report, with wall, rss, folder and cache added."""
        folder, env = self.fresh(label, cache)
        spec = {"job": job, "out": str(folder / "report.json"), **spec}
        wall, rss, _ = self.process([sys.executable, "-c", CHILD, json.dumps(spec)], folder, env)
        report = json.loads((folder / "report.json").read_text())
        return {**report, "wall": wall, "rss": rss, "folder": folder, "cache": Path(env["OCTOGLOT_CACHE"])}

    def octoglot_run(self, label: str, model: str, *extra: str, limit: int, output: Path | None = None,
                     cache: Path | None = None, tasks=TASKS, langs=LANGS, **spec) -> dict:
        """``octoglot run`` (sib200, xcopa; the eight languages) in a CHILD process, with its run directory's
        manifest; ``output``: the folder for run directories (default: the process's own folder)."""
        out = output or self.work / f"{self.n + 1:03d}-{label}" / "runs"  # (the folder child() makes next)
        argv = ["run", "--model", model, "--tasks", ",".join(tasks), "--langs", ",".join(langs), "--limit",
                str(limit), "--seed", str(SEED), "--batch-size", str(BATCH), "--data-dir", self.data_dir,
                "--output", str(out), *extra]
        before = set(out.iterdir()) if out.is_dir() else set()
        report = self.child(label, "octoglot", cache=cache, argv=argv, **spec)
        (run_dir,) = [p for p in out.iterdir() if p.is_dir() and p not in before]
        report["run_dir"] = run_dir
        report["manifest"] = json.loads((run_dir / "manifest.json").read_text())
        return report


def median(values) -> float:
    return statistics.median(list(values))


def times(ours: float, theirs: float) -> str:
    """octoglot's time as a share of lm-eval's, and how many times faster (or slower) that is."""
    if ours <= 0 or theirs <= 0:
        return "n/a"
    word = f"{theirs / ours:.1f}× faster" if ours <= theirs else f"{ours / theirs:.1f}× slower"
    return f"{ours / theirs:.3g} ({word})"


def share(ours: float, theirs: float, unit: str = "of lm-eval's") -> str:
    return f"{ours / theirs:.2f} {unit}" if theirs else "n/a"


GEN_TASKS = ("mgsm_direct", "flores_en_xx")
FLOAT64_CHECKED = 20  # requests of largest |Δ| whose float64 log-likelihood the benchmark computes


def loglikelihood(bench: Bench, args, folder: str, step, notes: list[str]) -> list[tuple[str, str, str, str]]:
    """SIB-200 ×8 + XCOPA ×2 with the same seeded items: lm-eval's ``hf`` path against ``octoglot run --no-cache``."""
    export, names = bench.export, bench.names  # main's export of TASKS × LANGS
    rows: list[tuple[str, str, str, str]] = []
    step(f"same requests: lm-eval hf / octoglot run --no-cache, {args.runs_same} process(es) each")
    lm_runs, og_runs = [], []
    for i in range(args.runs_same):
        for tool in ("lm-eval", "octoglot") if i % 2 == 0 else ("octoglot", "lm-eval"):
            if tool == "lm-eval":
                lm_runs.append(bench.child("same-lmeval", "lmeval_run", count_forward=True, include=str(export),
                                           names=names, model=folder, batch=BATCH))
            else:
                og_runs.append(bench.octoglot_run("same-octoglot", "smollm2", "--no-cache", limit=args.limit,
                                                  count_forward=True))
    theirs, mine = lm_runs[0], og_runs[0]
    run = mine["run_dir"]
    deltas, ours_acc = [], {}  # (|Δ|, octoglot's, lm-eval's, (task, lang, id, option))
    for name in names:
        task, lang = name.removeprefix("octoglot_").rsplit("_", 1)
        lines = (run / "samples" / lang / f"{task}.jsonl").read_text().splitlines()
        records = {r["id"]: r for r in map(json.loads, lines)}
        ours_acc[name] = sum(r["metrics"]["acc"] for r in records.values()) / len(records)
        for row in theirs["result"]["samples"][name]:
            lls = records[str(row["id"])]["loglikelihoods"]
            deltas += [(abs(a - b), a, b, (task, lang, str(row["id"]), k))
                       for k, (a, b) in enumerate(zip(lls, row["ll"]))]
    delta, n = max(d[0] for d in deltas), len(deltas)
    # both tools compute in float32, each rounding in its own order: judge the requests where they differ most by
    # the value computed in float64
    worst = sorted(deltas, key=lambda d: -d[0])[:FLOAT64_CHECKED]
    step(f"the {len(worst)} requests of largest |Δ| in float64 (lm-eval's path, one at a time)")
    exact = bench.child("float64", "float64_loglikelihood", tasks=TASKS, langs=LANGS, limit=args.limit, seed=SEED,
                        data_dir=bench.data_dir, model=folder, which=[d[3] for d in worst])["result"]["ll"]
    ours_err = max(abs(d[1] - e) for d, e in zip(worst, exact))
    theirs_err = max(abs(d[2] - e) for d, e in zip(worst, exact))
    closer = sum(abs(d[1] - e) < abs(d[2] - e) for d, e in zip(worst, exact))
    acc_same = all(abs(ours_acc[k] - (theirs["result"]["acc"][k] or 0)) < 1e-9 for k in names)
    oc, lc = mine["counts"], theirs["counts"]
    manifest_tokens = mine["manifest"]["requests"]["forward_tokens"]
    stable = (all(same_counts(r["counts"], oc) for r in og_runs)
              and all(same_counts(r["counts"], lc) for r in lm_runs))
    og_per = median(1000 * r["counts"]["forward_seconds"] / r["counts"]["tokens"] for r in og_runs)
    lm_per = median(1000 * r["counts"]["forward_seconds"] / r["counts"]["tokens"] for r in lm_runs)
    og_wall, lm_wall = median(r["wall"] for r in og_runs), median(r["wall"] for r in lm_runs)
    og_rss, lm_rss = median(r["rss"] for r in og_runs), median(r["rss"] for r in lm_runs)
    if manifest_tokens == oc["tokens"]:
        honest = "equal"
    else:
        diff = manifest_tokens - oc["tokens"]
        honest = f"differs by {diff:+d} ({100 * diff / max(oc['tokens'], 1):+.1f}%)"
    cells = f"SIB-200 ×8 + XCOPA ×2, {args.limit} items each"
    rows += [
        (f"wall, same requests, whole process (s): {cells}", f"{og_wall:.1f}", f"{lm_wall:.1f}",
         times(og_wall, lm_wall)),
        ("peak RSS (MB)", f"{og_rss:.0f}", f"{lm_rss:.0f}", share(og_rss, lm_rss)),
        ("forward calls of the model (hook)", f"{oc['forward_calls']}", f"{lc['forward_calls']}",
         share(oc["forward_calls"], lc["forward_calls"])),
        ("forward tokens, input_ids positions incl. padding (hook)", f"{oc['tokens']}", f"{lc['tokens']}",
         share(oc["tokens"], lc["tokens"])),
        ("forward tokens without padding (hook: attention-mask sum; a call without a mask counts every position)",
         f"{oc['tokens_unpadded']}", f"{lc['tokens_unpadded']}", share(oc["tokens_unpadded"], lc["tokens_unpadded"])),
        ("octoglot's manifest `forward_tokens` against the hook's count", f"{manifest_tokens} vs {oc['tokens']}", "",
         honest),
        ("ms per forward token: time inside the model's forward calls / positions run, padding incl. (hook)",
         f"{og_per:.3f}", f"{lm_per:.3f}", times(og_per, lm_per)),
        (f"max |Δ log-likelihood| over {n} requests", f"{delta:.2e}", "reference",
         "< 1e-4" if delta < 1e-4 else "FAIL"),
        (f"the {len(worst)} requests of largest |Δ|: max distance from the float64 value", f"{ours_err:.2e}",
         f"{theirs_err:.2e}", f"octoglot closer on {closer} of {len(worst)}"),
        (f"accuracy identical on every (task, language) ({len(names)})", "yes" if acc_same else "no", "", ""),
    ]
    macro = sum(ours_acc.values()) / len(ours_acc)
    macro_theirs = sum(v or 0 for v in theirs["result"]["acc"].values()) / len(theirs["result"]["acc"])
    rows.append((f"mean accuracy over the {len(names)} (task, language) pairs", f"{macro:.4f}", f"{macro_theirs:.4f}",
                 ""))
    top, top_exact = worst[0], exact[0]
    notes.append(f"Largest |Δ log-likelihood|: {top[3][0]} {top[3][1]}, item {top[3][2]}, option {top[3][3]}: "
                 f"octoglot {top[1] - top_exact:+.2e} and lm-eval {top[2] - top_exact:+.2e} from the float64 value "
                 f"({top_exact:.4f}).")
    notes.append(f"Same requests: octoglot's request paths {mine['manifest']['requests']['paths']}; forward calls with "
                 f"an attention mask: octoglot {oc['calls_with_mask']}, lm-eval {lc['calls_with_mask']}; other "
                 f"top-level module calls: octoglot {oc['other_top_level_calls']}, "
                 f"lm-eval {lc['other_top_level_calls']}"
                 + ("" if stable else "; the hook counts differed between repeated processes (first one shown)") + ".")
    return rows


def same_counts(a: dict, b: dict) -> bool:
    """The hook's counts agree (its timing aside)."""
    def counted(counts: dict) -> dict:
        return {k: v for k, v in counts.items() if k != "forward_seconds"}

    return counted(a) == counted(b)


def generation(bench: Bench, args, folder: str, step, notes: list[str]) -> list[tuple[str, str, str, str]]:
    """MGSM (direct answer, 4-shot) and FLORES en→xx in every language each covers, ``--gen-limit`` seeded items
    each, greedy, the chat template on in both tools (octoglot applies it to smollm2's generation prompts): plain
    lm-eval (``hf``, ``simple_evaluate(apply_chat_template=True)``) over the exported tasks against
    ``octoglot run --no-cache``. Outputs are compared request by request (prompts first: the same text must reach
    both models); generated tokens are the responses re-tokenized with the model's tokenizer, the same count for
    both tools, over each whole process's wall."""
    from transformers import AutoTokenizer

    from harness.interop.export import export_lmeval

    export = bench.work / "export-generation"
    exported = export_lmeval(export, list(GEN_TASKS), list(LANGS), bench.data_dir, limit=args.gen_limit, seed=SEED)
    names = [t["name"] for t in exported["tasks"]]
    step(f"generation: lm-eval hf / octoglot run --no-cache, {len(names)} (task, language) pairs, "
         f"{args.runs_same} process(es) each")
    lm_runs, og_runs = [], []
    for i in range(args.runs_same):
        for tool in ("lm-eval", "octoglot") if i % 2 == 0 else ("octoglot", "lm-eval"):
            if tool == "lm-eval":
                lm_runs.append(bench.child("gen-lmeval", "lmeval_generate", count_forward=True, include=str(export),
                                           names=names, model=folder, batch=BATCH, chat=True))
            else:
                og_runs.append(bench.octoglot_run("gen-octoglot", "smollm2", "--no-cache", limit=args.gen_limit,
                                                  tasks=GEN_TASKS, count_forward=True))
    theirs, mine = lm_runs[0], og_runs[0]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    same_prompt = same_output = total = tokens = 0
    differing = []
    for name in names:
        task, lang = name.removeprefix("octoglot_").rsplit("_", 1)
        lines = (mine["run_dir"] / "samples" / lang / f"{task}.jsonl").read_text().splitlines()
        records = {r["id"]: r for r in map(json.loads, lines)}
        for row in theirs["result"][name]:
            ours = records[row["id"]]
            total += 1
            same_prompt += ours.get("prompt") == row["prompt"]
            if ours.get("response") == row["response"]:
                same_output += 1
            else:
                differing.append(f"{name}#{row['id']}")
            tokens += len(tokenizer(row["response"], add_special_tokens=False)["input_ids"])
    og_wall, lm_wall = median(r["wall"] for r in og_runs), median(r["wall"] for r in lm_runs)
    oc, lc = mine["counts"], theirs["counts"]
    manifest = mine["manifest"]["requests"]
    cells = f"MGSM direct ×{sum(n.startswith('octoglot_mgsm') for n in names)} + FLORES en→xx " \
            f"×{sum(n.startswith('octoglot_flores') for n in names)}, {args.gen_limit} items each"
    notes.append(f"Generation: octoglot's request paths {manifest['paths']}, model seconds "
                 f"{manifest['model_seconds']:.1f} of {og_wall:.1f}; lm-eval batch size {BATCH}, octoglot its own "
                 f"batch plan; outputs differing: {', '.join(differing) or 'none'}.")
    return [
        (f"generation wall, same requests, whole process (s): {cells}, greedy, chat template", f"{og_wall:.1f}",
         f"{lm_wall:.1f}", times(og_wall, lm_wall)),
        (f"generation: prompts identical / outputs identical, of {total} requests", f"{same_prompt} / {same_output}",
         "reference", "identical" if same_output == total else f"{total - same_output} differ"),
        (f"generation: generated tokens ({tokens}, lm-eval's outputs re-tokenized) per second of whole-process wall",
         f"{tokens / og_wall:.1f}", f"{tokens / lm_wall:.1f}", f"{lm_wall / og_wall:.2f}× the rate"),
        ("generation: forward calls / positions incl. padding / without (hook)",
         f"{oc['forward_calls']} / {oc['tokens']} / {oc['tokens_unpadded']}",
         f"{lc['forward_calls']} / {lc['tokens']} / {lc['tokens_unpadded']}", share(oc["tokens"], lc["tokens"])),
        ("generation: peak RSS (MB)", f"{median(r['rss'] for r in og_runs):.0f}",
         f"{median(r['rss'] for r in lm_runs):.0f}", ""),
    ]


def lighteval(bench: Bench, args, folder: str, step, notes: list[str]) -> list[tuple[str, str, str, str]]:
    """XCOPA Italian, every item, against lighteval 0.13 (``bench/vs_lighteval.py``: its own virtual environment,
    the same prompts and options, ``--runs-same`` cold processes each)."""
    import vs_lighteval

    work = bench.work / "lighteval"
    work.mkdir()
    m = vs_lighteval.measure(work, "it", None, args.runs_same, bench.data_dir, vs_lighteval.DEFAULT_VENV, step)
    if m is None:
        raise SystemExit("lighteval and octoglot scored different XCOPA items")
    n = len(m["ids"])
    notes.append(f"lighteval {m['versions']['lighteval']} (`accelerate`, batch {vs_lighteval.LIGHTEVAL_BATCH} = 8 "
                 f"items × 2 options); walls: octoglot {m['walls']['og']} s, lighteval {m['walls']['lv']} s.")
    return [
        (f"XCOPA it, all {n} items, whole process (s), peer **lighteval**", f"{m['og_wall']:.1f}", f"{m['lv_wall']:.1f}",
         times(m["og_wall"], m["lv_wall"])),
        ("XCOPA it vs lighteval: identical predictions / max |Δ log-likelihood| / peak RSS (MB)",
         f"{m['identical']}/{n} / {m['delta']:.1e} / {m['og_rss']:.0f}", f"{m['lv_rss']:.0f}",
         share(m["og_rss"], m["lv_rss"], "of lighteval's RSS")),
    ]


def quick(bench: Bench, args, folder: str, step, notes: list[str]) -> list[tuple[str, str, str, str]]:
    """``octoglot run --model smollm2 --suite quick --no-cache`` (what ``make demo`` runs), ``--runs-same`` cold
    processes: wall, peak RSS, when the first unit's score line came, the seconds in the model."""
    step(f"quick suite: octoglot run --suite quick --no-cache, {args.runs_same} process(es)")
    runs = []
    for _ in range(args.runs_same):
        folder_, env = bench.fresh("quick")
        out = folder_ / "runs"
        cmd = [sys.executable, "-m", "harness", "run", "--model", "smollm2", "--suite", "quick", "--no-cache",
               "--data-dir", bench.data_dir, "--output", str(out)]
        wall, rss, _ = bench.process(cmd, folder_, env)
        (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
        manifest = json.loads((run_dir / "manifest.json").read_text())
        lines = (folder_ / "stderr.txt").read_text(errors="replace").splitlines()
        first = next((line for line in lines if "(n=" in line), "")
        runs.append({"wall": wall, "rss": rss, "manifest": manifest, "first": first})
    wall, rss = median(r["wall"] for r in runs), median(r["rss"] for r in runs)
    m = runs[0]["manifest"]["requests"]
    first = runs[0]["first"]
    notes.append(f"Quick suite: {len(runs[0]['manifest']['units'])} units, {m['model_requests']} model requests, "
                 f"{m['model_seconds']:.0f} s in the model, paths {m['paths']}; first score line: `{first.strip()}`.")
    return [
        ("quick suite on smollm2, `--no-cache`, whole process (s); target ≤ 300", f"{wall:.0f}", "",
         "met" if wall <= 300 else "NOT met"),
        ("quick suite: peak RSS (MB); target ≤ 2048", f"{rss:.0f}", "", "met" if rss <= 2048 else "NOT met"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=25, help="items per task and language (default 25)")
    parser.add_argument("--runs", type=int, default=3,
                        help="cold processes per tool for the start-up, bootstrap and zero-cost-model timings; "
                             "the median is reported (default 3)")
    parser.add_argument("--runs-same", type=int, default=1,
                        help="cold processes per tool for the same-requests run and the cached re-run (default 1)")
    parser.add_argument("--gen-limit", type=int, default=5,
                        help="items per (task, language) of the generation comparison; 0 leaves it out (default 5)")
    parser.add_argument("--lighteval", action="store_true",
                        help="also XCOPA Italian, all items, against lighteval (bench/vs_lighteval.py; its virtual "
                             "environment is built when missing, ~35 min the first time)")
    parser.add_argument("--quick", action="store_true",
                        help="also the quick suite on smollm2 (`octoglot run --suite quick --no-cache`): wall and peak "
                             "RSS against the targets (5 minutes, 2 GB); no peer runs it")
    parser.add_argument("--only", choices=("loglikelihood", "generation", "lighteval", "quick"),
                        help="run one comparison alone (the others are left out of the table)")
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA") or str(REPO.parent / "shared" / "data"))
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (each process's output, the run directories) and print its path")
    args = parser.parse_args()
    if args.limit < 1 or args.runs < 1 or args.runs_same < 1:
        parser.error("--limit, --runs and --runs-same must be positive")
    if not LMEVAL_SCRIPT.is_file():
        raise SystemExit(f"lm-eval's console script is not next to {sys.executable} ({LMEVAL_SCRIPT})")
    from harness.core.locations import cache_dir
    from harness.execution import models
    from harness.interop.export import export_lmeval

    started_all = time.perf_counter()
    folder = models.resolve("smollm2", None).args["pretrained"]  # converts the GGUF once, before any timing
    work = Path(tempfile.mkdtemp(prefix="octoglot-bench-"))
    bench = Bench(work, str(Path(args.data_dir).resolve()), cache_dir() / "models")
    data_dir = bench.data_dir
    export = work / "export"
    exported = export_lmeval(export, list(TASKS), list(LANGS), data_dir, limit=args.limit, seed=SEED)
    names = [t["name"] for t in exported["tasks"]]
    bench.export, bench.names = export, names
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []

    def step(text: str) -> None:
        print(f"[{time.perf_counter() - started_all:6.0f}s] {text}", file=sys.stderr, flush=True)

    if args.only:
        rows += {"loglikelihood": loglikelihood, "generation": generation, "lighteval": lighteval,
                 "quick": quick}[args.only](
            bench, args, str(folder), step, notes)
        return print_report(args, rows, notes, started_all, work)

    # 1a. start-up: listing the tasks
    step(f"start-up: octoglot tasks / lm-eval ls tasks, {args.runs} process(es) each")
    ours_list, theirs_list = [], []
    for i in range(args.runs):
        for tool in ("octoglot", "lm-eval") if i % 2 == 0 else ("lm-eval", "octoglot"):
            where, env = bench.fresh(f"list-{tool}")
            if tool == "octoglot":
                ours_list.append(bench.process([sys.executable, "-m", "harness", "tasks", "--data-dir", data_dir],
                                               where, env, ok=(0,))[0])
            else:
                theirs_list.append(bench.process([str(LMEVAL_SCRIPT), "ls", "tasks"], where, env, ok=(0,))[0])
    ours, theirs = median(ours_list), median(theirs_list)
    rows.append(("start-up: list the tasks, `octoglot tasks` vs `lm-eval ls tasks` (s)", f"{ours:.2f}",
                 f"{theirs:.2f}", times(ours, theirs)))

    # 1b. start-up: the same tasks ready to run
    step(f"start-up: the same {len(names)} tasks ready to run, {args.runs} process(es) each")
    plans, managers = [], []
    for i in range(args.runs):
        for tool in ("octoglot", "lm-eval") if i % 2 == 0 else ("lm-eval", "octoglot"):
            if tool == "octoglot":
                plans.append(bench.child("plan-octoglot", "octoglot_plan", tasks=TASKS, langs=LANGS, limit=args.limit,
                                         seed=SEED, data_dir=data_dir))
            else:
                managers.append(bench.child("plan-lmeval", "lmeval_tasks", include=str(export), names=names))
    ours, theirs = median(p["wall"] for p in plans), median(p["wall"] for p in managers)
    rows.append((f"start-up: the same {len(names)} (task, language) pairs ready to run: octoglot plan vs "
                 f"`TaskManager(include_path, include_defaults=False)` + requests (s)", f"{ours:.2f}",
                 f"{theirs:.2f}", times(ours, theirs)))
    notes.append(f"Start-up, same tasks: requests built: octoglot {plans[0]['result']['requests']} "
                 f"({plans[0]['result']['units']} units), lm-eval {managers[0]['result']['requests']} "
                 f"({managers[0]['result']['units']} tasks); lm-eval reads documents octoglot pre-rendered, "
                 f"octoglot renders its prompts from the raw data.")

    # 2. the same requests in both tools
    rows += loglikelihood(bench, args, str(folder), step, notes)

    # 2b. generation: the same requests in both tools
    if args.gen_limit:
        rows += generation(bench, args, str(folder), step, notes)

    if args.lighteval:
        rows += lighteval(bench, args, str(folder), step, notes)
    if args.quick:
        rows += quick(bench, args, str(folder), step, notes)

    # 3. cached re-run
    step(f"cached re-run: octoglot twice on a fresh response cache, {args.runs_same} time(s)")
    firsts, seconds = [], []
    for _ in range(args.runs_same):
        first = bench.octoglot_run("cached-first", "smollm2", limit=args.limit, count_forward=True)
        firsts.append(first)
        seconds.append(bench.octoglot_run("cached-second", "smollm2", limit=args.limit, count_forward=True,
                                          output=first["run_dir"].parent, cache=first["cache"]))
    first_wall, second_wall = median(r["wall"] for r in firsts), median(r["wall"] for r in seconds)

    def calls(report: dict) -> str:
        return f"{report['manifest']['requests']['model_requests']} / {report['counts']['forward_calls']}"

    rows.append(("cached re-run (octoglot): model requests / forward calls (hook) / wall (s), second run; first run",
                 f"{calls(seconds[0])} / {second_wall:.1f}; {calls(firsts[0])} / {first_wall:.1f}", "",
                 f"{100 * second_wall / first_wall:.1f}% of the first run's wall"))

    # 4. bootstrap CI of chrF++ over FLORES devtest
    step(f"bootstrap CI of chrF++: octoglot / lm-eval, {args.runs} process(es) each")
    ours_boot, theirs_boot = [], []
    for i in range(args.runs):
        for tool in ("octoglot", "lm-eval") if i % 2 == 0 else ("lm-eval", "octoglot"):
            if tool == "octoglot":
                ours_boot.append(bench.child("boot-octoglot", "octoglot_bootstrap", data_dir=data_dir, resamples=1000))
            else:
                theirs_boot.append(bench.child("boot-lmeval", "lmeval_bootstrap", data_dir=data_dir, resamples=100))
    ours = median(r["result"]["seconds"] for r in ours_boot)
    theirs = median(r["result"]["seconds"] for r in theirs_boot)
    segments = ours_boot[0]["result"]["segments"]
    rows.append((f"bootstrap of chrF++, {segments} FLORES segments (s): octoglot 1000 resamples (CI), lm-eval 100 "
                 f"(its stderr; lm-eval's cap for chrF++)", f"{ours:.2f}", f"{theirs:.2f}",
                 f"per resample: {times(ours / 1000, theirs / 100)}"))
    notes.append(f"Bootstrap: stderr of chrF++ octoglot {ours_boot[0]['result']['stderr']:.3f}, lm-eval "
                 f"{theirs_boot[0]['result']['stderr']:.3f}; timed after imports, octoglot's per-segment statistics "
                 f"included; "
                 f"lm-eval's bootstrap runs in a pool of {os.cpu_count()} processes, octoglot's in one.")

    # 5. overhead with a zero-cost model
    step("zero-cost model: one unmeasured run per tool to find the modules a run imports")
    discovered = {
        "octoglot": bench.octoglot_run("dummy-discover-octoglot", "dummy", "--no-cache", limit=args.limit,
                                       record_modules=True),
        "lm-eval": bench.child("dummy-discover-lmeval", "lmeval_run", include=str(export), names=names, model="dummy",
                               batch=BATCH, record_modules=True),
    }
    lists = {}
    for tool, report in discovered.items():
        lists[tool] = work / f"modules-{tool}.json"
        lists[tool].write_text(json.dumps(report["modules"]))
    step(f"zero-cost model: octoglot / lm-eval, {args.runs} process(es) each")
    og_dummy, lm_dummy = [], []
    for i in range(args.runs):
        for tool in ("octoglot", "lm-eval") if i % 2 == 0 else ("lm-eval", "octoglot"):
            if tool == "octoglot":
                og_dummy.append(bench.octoglot_run("dummy-octoglot", "dummy", "--no-cache", limit=args.limit,
                                                   preimport=str(lists[tool])))
            else:
                lm_dummy.append(bench.child("dummy-lmeval", "lmeval_run", include=str(export), names=names,
                                            model="dummy", batch=BATCH, preimport=str(lists[tool])))
    og_imports, lm_imports = median(r["imports_s"] for r in og_dummy), median(r["imports_s"] for r in lm_dummy)
    og_after, lm_after = median(r["work_s"] for r in og_dummy), median(r["work_s"] for r in lm_dummy)
    in_model = median((r["manifest"]["requests"]["model_seconds"] + r["manifest"]["requests"]["load_seconds"])
                      / r["work_s"] for r in og_dummy)
    rows += [
        ("zero-cost model (`dummy`), same tasks and items: imports, before the clock (s)", f"{og_imports:.1f}",
         f"{lm_imports:.1f}", times(og_imports, lm_imports)),
        ("zero-cost model: wall after imports (s)", f"{og_after:.2f}", f"{lm_after:.2f}", times(og_after, lm_after)),
        ("zero-cost model: share of the wall after imports not in the model (octoglot's manifest)",
         f"{100 * (1 - in_model):.0f}%", "", ""),
    ]
    notes.append(f"Zero-cost model: whole processes {median(r['wall'] for r in og_dummy):.1f} s (octoglot) and "
                 f"{median(r['wall'] for r in lm_dummy):.1f} s (lm-eval); modules first imported after the clock "
                 f"started: octoglot {og_dummy[0]['late_modules']}, lm-eval {lm_dummy[0]['late_modules']} "
                 f"(pre-imported: {len(discovered['octoglot']['modules'])} and "
                 f"{len(discovered['lm-eval']['modules'])}).")

    return print_report(args, rows, notes, started_all, work)


def print_report(args, rows: list[tuple[str, str, str, str]], notes: list[str], started_all: float, work: Path) -> int:
    """The Markdown table of every measure taken, the notes under it, the benchmark's own wall."""
    total = time.perf_counter() - started_all
    print(f"\nsmollm2 (SmolLM2-135M-Instruct, float32, CPU, batch size {BATCH}), {os.cpu_count()} cores, limit "
          f"{args.limit}; medians of {args.runs} cold process(es) per tool (start-up, bootstrap, zero-cost model) and "
          f"{args.runs_same} (same requests, cached re-run). Ratio: octoglot / lm-eval.\n")
    print("| measure | octoglot | peer (lm-eval unless named) | ratio |")
    print("|---|---|---|---|")
    for row in rows:  # a "|" inside a cell would end it
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    print()
    for note in notes:
        print(f"- {note}")
    print(f"\nbenchmark wall: {total:.0f} s")
    if args.keep:
        print(f"work folder: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
