"""octoglot against lighteval (its ``accelerate`` backend) on XCOPA: the same model, items, prompts and options.

    python bench/vs_lighteval.py [--lang it] [--limit N] [--runs 1] [--threads N] [--data-dir ../shared/data]
                                 [--venv DIR] [--keep]

lighteval lives in its own virtual environment (``--venv``, default ``~/.cache/octoglot/bench/lighteval-venv``),
built here when it is missing (``python -m venv``, then ``pip install torch==2.13.0``, then
``lighteval==0.13.0 accelerate 'xxhash<4'``), so none of its dependencies touch octoglot's. It is only ever
run as a separate process.

What both tools get:
  * the model: SmolLM2-135M-Instruct as octoglot converted it to transformers format once
    (``models.resolve('smollm2', None).args['pretrained']``), float32, CPU; octoglot as the ``smollm2`` alias,
    lighteval as ``model_name=<a link to that folder>,dtype=float32,device=cpu``;
  * the items: XCOPA (``--lang``, default ``it``) from the local data directory (``--data-dir``, else
    ``$OCTOGLOT_DATA``, else ../shared/data); ``--limit N``: octoglot's own seeded subset (seed 1234, as
    ``octoglot run --limit N --seed 1234`` picks it), else all items;
  * the prompt and options: octoglot's, taken from octoglot itself (``harness.execution.plan``, the same call
    ``octoglot run`` makes) and written as JSON Lines ``{id, context, choices, gold}``;
    ``bench/lighteval/xcopa_task.py`` is a lighteval custom task that only reads that file back
    (``$OCTOGLOT_LIGHTEVAL_DATA``), metric ``loglikelihood_acc``, no few-shot, no instruction;
  * no chat template on these log-likelihood prompts: octoglot never applies it to them; lighteval would (its
    default is on when the tokenizer has one, as SmolLM2's has), so it gets ``override_chat_template=False``;
  * batches: lighteval ``batch_size=16``, which it divides by the options per item: 8 items × 2 options per
    forward pass. octoglot gets ``--batch-size 8``, but its shared-prefix path (``harness.execution.prefix``)
    cuts its own batches of items by a cost model (up to 32 items), so the shapes differ by design.

Measurement: each run of each tool is a fresh ("cold") process, ``--runs`` of each (median reported), the
tools alternating. octoglot: ``python -m harness run --no-cache`` with a fresh ``OCTOGLOT_CACHE`` whose
``models/`` links to the converted weights (``vs_lmeval.Bench``). lighteval: its console script
``lighteval accelerate`` with a fresh ``cache_dir`` for its own per-sample cache (below) and ``--save-details``.
Both with a fresh, empty ``HF_DATASETS_CACHE`` and ``HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1``. Wall seconds of
the whole process (imports and model load included); peak RSS of the process from ``wait4``. ``--threads N`` sets
``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` for both tools' processes (default: unset, torch's own default, one
thread per core). On cores other processes keep busy, torch's multi-threaded operators wait at every barrier
for a descheduled thread, so a forward pass costs seconds whatever its size and the tool making fewer, larger
calls wins by that alone: with SmolLM2 on 2 busy cores, octoglot's 12 forward calls for 20 XCOPA items took
34-61 s at 2 threads and 3.4 s at 1 thread (model time from its manifest). ``--threads 1`` measures the work,
the default measures the tools as they come.

Comparison: octoglot's per-sample records (``samples/<lang>/xcopa.jsonl``: ``loglikelihoods``) against
lighteval's details file (``details/<model>/<time>/details_xcopa_octoglot|0_<time>.parquet``:
``model_response.logprobs``, one per option, and ``doc.specific.id``, octoglot's item id); the parquet is read by
lighteval's venv (pyarrow), not ours. A prediction is the option with the highest log-likelihood (the first on a
tie). Printed: a Markdown table (wall, peak RSS, accuracy; lighteval/octoglot ratios), then identical
predictions and the largest |Δ log-likelihood| per option. Exit 1 when a prediction (or the item set) differs.

lighteval 0.13 offline, and what is done here about each (none of it changes octoglot's code):
  * ``tinyBenchmarks.pkl`` downloaded at import (ConnectionError, exit 1), NLTK ``punkt`` downloads at import
    (``[nltk_data] Error loading punkt: <urlopen error ...>``), ``HfApi.list_models(model_name=...)`` rejected
    by huggingface_hub 2.x at import (``TypeError: ... unexpected keyword argument 'model_name'``, exit 1):
    patched at import by ``bench/lighteval/sitecustomize.py``, put on ``PYTHONPATH`` of the lighteval
    processes only; its docstring gives each symptom and patch.
  * xxhash >= 4 (4.1.0 came with the install): the details logger's ``xxhash.xxh64(doc.query)`` raises
    ``TypeError: Strings must be encoded before hashing`` after the model has run (exit 1, no results or
    details written): the venv pins ``xxhash<4`` (3.8.2 here); an existing venv with xxhash 4 gets the pin
    installed before anything is measured.
  * lighteval's per-sample cache goes to ``Path(cache_dir) / model_name / <hash>``: with an absolute model path
    as ``model_name`` that is the model's own folder (it wrote ``<model folder>/<hash>/xcopa_octoglot|0/...``
    into octoglot's converted-weights folder). Here ``model_name`` is ``model``, a link in the process's own
    folder (its working directory), and ``cache_dir`` is a fresh folder in it, so every run is cold and
    nothing is written next to the weights.

Nothing here is a test; timings depend on the machine and on what else it is running.
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
sys.path.insert(0, str(REPO / "bench"))

from vs_lmeval import ENV, SEED, Bench, median  # noqa: E402  (also puts REPO on sys.path)

TASK_FILE = REPO / "bench" / "lighteval" / "xcopa_task.py"
TASK = "xcopa_octoglot|0"
DEFAULT_VENV = Path.home() / ".cache" / "octoglot" / "bench" / "lighteval-venv"
TORCH = "torch==2.13.0"
LIGHTEVAL = ["lighteval==0.13.0", "accelerate", "xxhash<4"]
OCTOGLOT_BATCH = 8
LIGHTEVAL_BATCH = 16  # lighteval divides it by the options per item: 8 XCOPA items x 2 options per pass

# Run in lighteval's venv after a measured run: its details parquet and results JSON as one JSON document.
READ_DETAILS = r"""
import glob, json, sys
import pyarrow.parquet as pq
out = sys.argv[1]
(details,) = glob.glob(f"{out}/details/*/*/details_*.parquet")
(results,) = glob.glob(f"{out}/results/*/results_*.json")
rows = [{"id": r["doc"]["specific"]["id"], "logprobs": r["model_response"]["logprobs"],
         "gold": r["doc"]["gold_index"], "acc": r["metric"]["acc"]} for r in pq.read_table(details).to_pylist()]
print(json.dumps({"rows": rows, "results": json.load(open(results))["results"]}))
"""

VERSIONS = r"""
import json
from importlib.metadata import version
print(json.dumps({p: version(p) for p in ("lighteval", "accelerate", "torch", "transformers", "xxhash")}))
"""


def pip(venv: Path, *packages: str) -> None:
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *packages], check=True)


def ensure_venv(venv: Path) -> dict:
    """lighteval's own virtual environment: built when missing, ``xxhash<4`` pinned; its package versions."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "lighteval").is_file():
        print(f"building lighteval's virtual environment in {venv} (several minutes)", file=sys.stderr, flush=True)
        if not python.is_file():
            venv.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip(venv, TORCH)  # first, so lighteval's requirements keep this CPU build
        pip(venv, *LIGHTEVAL)
    versions = json.loads(subprocess.run([str(python), "-c", VERSIONS], check=True, capture_output=True,
                                         text=True).stdout)
    if int(versions["xxhash"].split(".")[0]) >= 4:
        print(f"pinning xxhash<4 in {venv} (found {versions['xxhash']})", file=sys.stderr, flush=True)
        pip(venv, "xxhash<4")
        versions = json.loads(subprocess.run([str(python), "-c", VERSIONS], check=True, capture_output=True,
                                             text=True).stdout)
    return versions


def octoglot_items(lang: str, limit: int | None, data_dir: str) -> list[dict]:
    """The XCOPA items ``octoglot run --tasks xcopa --langs LANG [--limit N] --seed 1234`` scores, with its prompt
    and options, from octoglot's own planner."""
    from harness.core.languages import parse_langs
    from harness.execution.plan import RunConfig, plan
    from harness.tasks.registry import parse_tasks

    config = RunConfig(model="dummy", model_args=None, tasks=parse_tasks("xcopa"), langs=parse_langs(lang),
                       limit=limit, seed=SEED, output=Path("."), data_dir=data_dir, command=[])
    (unit,), _ = plan(config)
    items = []
    for sample in unit.samples:
        contexts = {c for c, _ in sample.loglikelihood_requests()}
        if contexts != {sample.prompt}:  # XCOPA options share the prompt; the task file assumes it
            raise SystemExit(f"xcopa/{lang} item {sample.id}: options with their own contexts")
        items.append({"id": sample.id, "context": sample.prompt, "choices": list(sample.choices),
                      "gold": sample.target})
    return items


def process(cmd: list[str], folder: Path, env: dict, cwd: Path) -> tuple[float, float]:
    """Wall seconds and the child's own peak RSS (MB, from wait4); output to files in ``folder``."""
    with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = (folder / "stderr.txt").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(map(str, cmd[:4]))[:300]} failed ({code}); {folder}:\n{tail}")
    return wall, usage.ru_maxrss / 1024


def run_octoglot(bench: Bench, lang: str, limit: int | None) -> dict:
    folder, env = bench.fresh("octoglot")
    runs = folder / "runs"
    cmd = [sys.executable, "-m", "harness", "run", "--model", "smollm2", "--tasks", "xcopa", "--langs", lang,
           "--seed", str(SEED), "--batch-size", str(OCTOGLOT_BATCH), "--no-cache", "--data-dir", bench.data_dir,
           "--output", str(runs), *(["--limit", str(limit)] if limit else [])]
    wall, rss = process(cmd, folder, env, REPO)
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    records = [json.loads(line) for line in (run_dir / "samples" / lang / "xcopa.jsonl").read_text().splitlines()]
    return {"wall": wall, "rss": rss, "folder": folder,
            "rows": {r["id"]: {"ll": r["loglikelihoods"], "gold": r["target"], "acc": r["metrics"]["acc"]}
                     for r in records}}


def run_lighteval(bench: Bench, venv: Path, data: Path, weights: str) -> dict:
    folder, env = bench.fresh("lighteval")
    (folder / "model").symlink_to(weights)  # a relative model_name: lighteval's cache path joins it (docstring)
    env = {**env, "PYTHONPATH": str(TASK_FILE.parent), "OCTOGLOT_LIGHTEVAL_DATA": str(data)}
    out = folder / "out"
    model_args = (f"model_name=model,dtype=float32,device=cpu,batch_size={LIGHTEVAL_BATCH},"
                  f"override_chat_template=False,cache_dir={folder / 'lighteval-cache'}")
    cmd = [str(venv / "bin" / "lighteval"), "accelerate", model_args, TASK, "--custom-tasks", str(TASK_FILE),
           "--output-dir", str(out), "--save-details"]
    wall, rss = process(cmd, folder, env, folder)
    read = subprocess.run([str(venv / "bin" / "python"), "-c", READ_DETAILS, str(out)], check=True,
                          capture_output=True, text=True, env=env)
    report = json.loads(read.stdout)
    return {"wall": wall, "rss": rss, "folder": folder, "results": report["results"],
            "rows": {r["id"]: {"ll": r["logprobs"], "gold": r["gold"], "acc": r["acc"]} for r in report["rows"]}}


def prediction(lls: list[float]) -> int:
    return max(range(len(lls)), key=lambda i: (lls[i], -i))  # the highest; the first of equals


def measure(work: Path, lang: str, limit: int | None, runs: int, data_dir: str, venv: Path, step) -> dict | None:
    """Both tools on the same XCOPA items, ``runs`` cold processes each, alternating (module docstring): medians of
    wall and peak RSS, the predictions compared item by item, the largest per-option |Δ log-likelihood|. None when
    the tools scored different items. Also used by ``bench/vs_lmeval.py --lighteval``."""
    from harness.core.locations import cache_dir
    from harness.execution import models

    versions = ensure_venv(venv)
    weights = models.resolve("smollm2", None).args["pretrained"]  # converts the GGUF once, before any timing
    bench = Bench(work, str(Path(data_dir).resolve()), cache_dir() / "models")
    items = octoglot_items(lang, limit, bench.data_dir)
    data = work / "lighteval-data"
    data.mkdir()
    with open(data / "test.jsonl", "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")

    ours, theirs = [], []
    for i in range(runs):
        for tool in ("lighteval", "octoglot") if i % 2 == 0 else ("octoglot", "lighteval"):
            step(f"run {i + 1}/{runs}: {tool}, XCOPA {lang}, {len(items)} items")
            if tool == "octoglot":
                ours.append(run_octoglot(bench, lang, limit))
            else:
                theirs.append(run_lighteval(bench, venv, data, weights))

    ids = [item["id"] for item in items]
    mine, other = ours[0]["rows"], theirs[0]["rows"]
    if not set(mine) == set(ids) == set(other) or len(other) != len(ids):
        print(f"item sets differ: octoglot {len(mine)}, lighteval {len(other)}, planned {len(ids)}", file=sys.stderr)
        return None
    identical, delta, worst = 0, 0.0, None
    for item_id in ids:
        a, b = mine[item_id]["ll"], other[item_id]["ll"]
        identical += prediction(a) == prediction(b)
        for option, (x, y) in enumerate(zip(a, b)):
            if abs(x - y) > delta:
                delta, worst = abs(x - y), (item_id, option)
    return {
        "ids": ids, "versions": versions, "identical": identical, "delta": delta, "worst": worst,
        "stable": all(r["rows"] == mine for r in ours) and all(r["rows"] == other for r in theirs),
        "acc_ours": sum(prediction(r["ll"]) == r["gold"] for r in mine.values()) / len(ids),
        "acc_theirs": sum(prediction(r["ll"]) == r["gold"] for r in other.values()) / len(ids),
        "recorded_ours": sum(r["acc"] for r in mine.values()) / len(ids),
        "recorded_theirs": theirs[0]["results"][TASK]["acc"],
        "og_wall": median(r["wall"] for r in ours), "lv_wall": median(r["wall"] for r in theirs),
        "og_rss": median(r["rss"] for r in ours), "lv_rss": median(r["rss"] for r in theirs),
        "walls": {name: ", ".join(f"{r['wall']:.1f}" for r in rs) for name, rs in (("og", ours), ("lv", theirs))},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="it", help="XCOPA language (default it)")
    parser.add_argument("--limit", type=int, default=None,
                        help="octoglot's seeded subset of N items (seed 1234); default: all items")
    parser.add_argument("--runs", type=int, default=1, help="cold processes per tool; the median is reported")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP_NUM_THREADS and MKL_NUM_THREADS for both tools (default: as in the environment, "
                             "else torch's default)")
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA") or str(REPO.parent / "shared" / "data"))
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help=f"lighteval's virtual environment, built when missing (default {DEFAULT_VENV})")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and print its path")
    args = parser.parse_args()
    if args.runs < 1 or (args.limit is not None and args.limit < 1) or (args.threads is not None and args.threads < 1):
        parser.error("--runs, --limit and --threads must be positive")
    if args.threads:
        ENV.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))

    started_all = time.perf_counter()

    def step(text: str) -> None:
        print(f"[{time.perf_counter() - started_all:6.0f}s] {text}", file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="octoglot-vs-lighteval-"))
    m = measure(work, args.lang, args.limit, args.runs, args.data_dir, args.venv.expanduser(), step)
    if m is None:
        return 1
    ids, versions = m["ids"], m["versions"]
    threads = f"{args.threads} thread(s)" if args.threads else f"torch's default threads ({os.cpu_count()} cores)"
    subset = f"octoglot's seeded subset of {args.limit}" if args.limit else "all items"
    print(f"\n### octoglot vs lighteval {versions['lighteval']}: XCOPA {args.lang}, {len(ids)} items ({subset}), "
          f"SmolLM2-135M-Instruct float32 CPU, {threads}, {args.runs} cold run(s) each\n")
    print("| tool | wall s (median) | peak RSS MB (median) | accuracy |")
    print("|---|---:|---:|---:|")
    print(f"| octoglot (`run --no-cache`, shared-prefix batches) | {m['og_wall']:.1f} | {m['og_rss']:.0f} | "
          f"{m['acc_ours']:.3f} |")
    print(f"| lighteval (`accelerate`, batch {LIGHTEVAL_BATCH} = 8 items × 2 options) | {m['lv_wall']:.1f} | "
          f"{m['lv_rss']:.0f} | {m['acc_theirs']:.3f} |")
    print(f"| lighteval / octoglot | {m['lv_wall'] / m['og_wall']:.2f}× | {m['lv_rss'] / m['og_rss']:.2f}× | |")
    print()
    print(f"- identical predictions: {m['identical']}/{len(ids)}")
    worst = m["worst"]
    where = f" (item {worst[0]}, option {worst[1]})" if worst else ""
    print(f"- max |Δ log-likelihood| per option: {m['delta']:.2g}{where}")
    print(f"- accuracy as each tool recorded it: octoglot {m['recorded_ours']:.3f}, lighteval {m['recorded_theirs']:.3f}")
    if args.runs > 1:
        print(f"- every run of a tool gave the same log-likelihoods: {'yes' if m['stable'] else 'NO'}")
    print(f"- walls: octoglot {m['walls']['og']} s; lighteval {m['walls']['lv']} s")
    print(f"- lighteval venv: lighteval {versions['lighteval']}, accelerate {versions['accelerate']}, "
          f"torch {versions['torch']}, transformers {versions['transformers']}, xxhash {versions['xxhash']}")
    identical = m["identical"]
    if args.keep:
        print(f"- work folder: {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    if identical != len(ids):
        print(f"predictions differ on {len(ids) - identical} item(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
