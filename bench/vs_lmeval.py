"""octoglot against plain lm-eval, on the same machine, model (smollm2), data and requests.

    python bench/vs_lmeval.py [--limit 25] [--data-dir ../shared/data]

Measures, each tool in its own process:
  1. start-up: `octoglot tasks` (best of 3) against lm-eval's default task listing (`TaskManager()`);
  2. SIB-200 (all eight languages) and XCOPA (it, th) with the same seeded items: plain lm-eval over the
     tasks `octoglot export lm-eval` wrote (`TaskManager(include_path=..., include_defaults=False)`, `hf`
     backend) and `octoglot run --no-cache`: forward tokens, wall seconds, peak RSS, accuracy, and the
     largest per-request |Δ log-likelihood|;
  3. a cached re-run of octoglot (same command twice on a fresh response cache): model calls and wall;
  4. the bootstrap CI of chrF++ over the 1012 FLORES segments, 1000 resamples;
  5. harness overhead with a zero-cost model (lm-eval's `dummy`): the share of wall time not in the model.
Prints a Markdown table with the ratios. Nothing here is a test; figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TASKS = ("sib200", "xcopa")
LANGS = ("en", "de", "fr", "it", "pt", "hi", "es", "th")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

LMEVAL_CHILD = r"""
import json, sys, time
from lm_eval import simple_evaluate
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager
include, folder, names, out = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4]
lm = HFLM(pretrained=folder, dtype="float32", batch_size=8, device="cpu")
tm = TaskManager(include_path=include, include_defaults=False)
res = simple_evaluate(model=lm, tasks=names, task_manager=tm, log_samples=True, batch_size=8, device="cpu")
dump = {"acc": {}, "samples": {}, "forward_tokens": 0}
for name in names:
    dump["acc"][name] = res["results"][name].get("acc,none")
    rows = []
    for s in res["samples"][name]:
        for args in s["arguments"]:
            ctx, cont = args[0], args[1]
            if ctx == "":
                c, t = [lm.prefix_token_id], lm.tok_encode(cont)
            else:
                c, t = lm._encode_pair(ctx, cont)
            dump["forward_tokens"] += len(c) + len(t) - 1
        rows.append({"id": s["doc"]["id"], "ll": [r[0][0] if isinstance(r[0], (list, tuple)) else r[0]
                                                   for r in s["resps"]]})
    dump["samples"][name] = rows
json.dump(dump, open(out, "w"))
"""


def child_rss(cmd: list[str], env: dict | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and the child's own peak RSS (MB, from wait4) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or ENV, cwd=REPO)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(map(str, cmd[:5]))} failed ({code}):\n{err[-3000:]}")
    return wall, usage.ru_maxrss / 1024, subprocess.CompletedProcess(cmd, code, out, err)


def octoglot(*args: str, env: dict | None = None):
    return child_rss([sys.executable, "-m", "harness", *args], env)


def run_dir(output: Path) -> Path:
    (only,) = [p for p in output.iterdir() if p.is_dir()]
    return only


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=25, help="items per task and language (default 25)")
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA") or str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()
    from harness import models
    from harness.export import export_lmeval

    folder = models.resolve("smollm2", None).args["pretrained"]
    work = Path(tempfile.mkdtemp(prefix="octoglot-bench-"))
    rows: list[tuple[str, str, str, str]] = []

    # 1. start-up
    ours = min(child_rss([sys.executable, "-m", "harness", "tasks"])[0] for _ in range(3))
    theirs = child_rss([sys.executable, "-c", "from lm_eval.tasks import TaskManager; TaskManager()"])[0]
    rows.append(("start-up: task listing (s)", f"{ours:.2f}", f"{theirs:.2f}", f"{theirs / ours:.0f}x faster"))

    # 2. the same requests in both tools
    export = work / "export"
    export_lmeval(export, list(TASKS), list(LANGS), args.data_dir, limit=args.limit, seed=1234)
    names = sorted(p.stem for p in export.glob("octoglot_*_*.yaml") if p.stem.split("_", 1)[1].rsplit("_", 1)[0]
                   in TASKS)
    dump = work / "lmeval.json"
    lm_wall, lm_rss, _ = child_rss([sys.executable, "-c", LMEVAL_CHILD, str(export), folder, ",".join(names),
                                    str(dump)])
    theirs = json.loads(dump.read_text())
    out = work / "octoglot"
    cache_env = {**ENV, "OCTOGLOT_CACHE": str(work / "cache")}
    (work / "cache").mkdir()
    (work / "cache" / "models").symlink_to(models.cache_dir() / "models")  # converted weights, fresh responses
    og_wall, og_rss, _ = octoglot("run", "--model", "smollm2", "--tasks", ",".join(TASKS), "--langs", ",".join(LANGS),
                                  "--limit", str(args.limit), "--output", str(out), "--data-dir", args.data_dir,
                                  "--no-cache", env=cache_env)
    run = run_dir(out)
    manifest = json.loads((run / "manifest.json").read_text())
    delta, ours_acc, n = 0.0, {}, 0
    for name in names:
        task, lang = name.removeprefix("octoglot_").rsplit("_", 1)
        records = {r["id"]: r for r in map(json.loads, (run / "samples" / lang / f"{task}.jsonl").read_text().splitlines())}
        ours_acc[name] = sum(r["metrics"]["acc"] for r in records.values()) / len(records)
        for row in theirs["samples"][name]:
            mine = records[str(row["id"])]["loglikelihoods"]
            delta = max(delta, max(abs(a - b) for a, b in zip(mine, row["ll"])))
            n += len(mine)
    acc_same = all(abs(ours_acc[k] - (theirs["acc"][k] or 0)) < 1e-9 for k in names)
    ours_tokens = manifest["requests"]["forward_tokens"]
    rows += [
        (f"forward tokens, SIB-200 ×8 + XCOPA ×2, {args.limit} items each", f"{ours_tokens}",
         f"{theirs['forward_tokens']}", f"{ours_tokens / theirs['forward_tokens']:.2f} of lm-eval's"),
        ("wall, same requests (s)", f"{og_wall:.1f}", f"{lm_wall:.1f}", f"{lm_wall / og_wall:.2f}x faster"),
        ("peak RSS (MB)", f"{og_rss:.0f}", f"{lm_rss:.0f}", f"{og_rss / lm_rss:.2f} of lm-eval's"),
        (f"max |Δ log-likelihood| over {n} requests", f"{delta:.2e}", "reference", "< 1e-4" if delta < 1e-4 else "FAIL"),
        ("accuracy identical on every (task, language)", "yes" if acc_same else "no", "", ""),
    ]
    macro = sum(ours_acc.values()) / len(ours_acc)
    macro_theirs = sum(v or 0 for v in theirs["acc"].values()) / len(theirs["acc"])
    rows.append(("mean accuracy over the 10 (task, language) cells", f"{macro:.4f}", f"{macro_theirs:.4f}", ""))

    # 3. cached re-run
    out2 = work / "cached"
    first, _, _ = octoglot("run", "--model", "smollm2", "--tasks", ",".join(TASKS), "--langs", ",".join(LANGS),
                           "--limit", str(args.limit), "--output", str(out2), "--data-dir", args.data_dir, env=cache_env)
    second, _, _ = octoglot("run", "--model", "smollm2", "--tasks", ",".join(TASKS), "--langs", ",".join(LANGS),
                            "--limit", str(args.limit), "--output", str(out2), "--data-dir", args.data_dir, env=cache_env)
    last = sorted(p for p in out2.iterdir() if p.is_dir())[-1]
    calls = json.loads((last / "manifest.json").read_text())["requests"]["model_requests"]
    rows.append(("cached re-run: model calls / wall (s)", f"{calls} / {second:.1f}", f"first run {first:.1f}",
                 f"{100 * second / first:.1f}% of the first run"))

    # 4. bootstrap CI of chrF++ over FLORES devtest
    from harness.families import translation
    from harness.scoring import bootstrap

    refs = Path(args.data_dir, "flores200/devtest/deu_Latn.devtest").read_text(encoding="utf-8").splitlines()
    hyps = [" ".join(r.split()[:-1]) if i % 2 else r for i, r in enumerate(refs)]
    metric = translation.make_metric("chrf++", "de")
    metric.corpus_score(hyps, [refs])
    stats = translation.segment_statistics(hyps, refs, metric)
    started = time.perf_counter()
    bootstrap(stats, lambda s: metric._compute_score_from_stats(s).score)
    boot = time.perf_counter() - started
    rows.append((f"bootstrap CI chrF++, {len(refs)} segments × 1000 resamples (s)", f"{boot:.2f}", "", "target ≤ 1 s"))

    # 5. overhead with a zero-cost model
    out3 = work / "dummy"
    dummy_wall, _, _ = octoglot("run", "--model", "dummy", "--tasks", ",".join(TASKS), "--langs", ",".join(LANGS),
                                "--limit", str(args.limit), "--output", str(out3), "--data-dir", args.data_dir,
                                "--no-cache", env=cache_env)
    dm = json.loads((run_dir(out3) / "manifest.json").read_text())
    share = 1 - (dm["requests"]["model_seconds"] + dm["requests"]["load_seconds"]) / dm["wall_seconds"]
    rows.append(("dummy model: wall (s) / share not in the model", f"{dummy_wall:.1f} / {100 * share:.0f}%", "", ""))

    print(f"\nsmollm2 (SmolLM2-135M-Instruct, float32, CPU), {os.cpu_count()} cores, limit {args.limit}\n")
    print("| measure | octoglot | lm-eval | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
