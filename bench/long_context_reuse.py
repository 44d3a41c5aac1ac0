"""What prefix reuse saves on the long-context tasks: the same NIAH and CWE generation requests run twice through
``harness.execution.engine.generate_until`` on the bundled SmolLM2 (float32, CPU), once with
``decode.SHARE_MIN`` as shipped (a prompt that begins with at least that many tokens of a prompt whose keys and
values are at hand runs only its rest) and once with reuse off, each in a fresh process.

    OCTOGLOT_DATA=../shared/data python bench/long_context_reuse.py [--length 4k] [--limit 2] [--langs en,de]

Prints, for both: whole-process wall, the prompt positions the model ran (a hook on its forward), decoding steps,
peak RSS; then the share of prompt positions saved, the wall ratio and how many outputs are identical (two passes
round differently from one, so a greedy token can flip). Requests: every long-context task (niah_single,
niah_multikey, niah_multivalue, niah_multiquery, niah_none, cwe) at one length, ``--limit`` items per task and
language (the same seeded items in every language), with the chat template. There is no lm-eval column: lm-eval's
``ruler`` builds English prompts from essays it downloads at run time. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def requests(length: int, limit: int, langs: str | None, data_dir: str | None) -> list[tuple[str, dict]]:
    from harness.core.languages import parse_langs
    from harness.execution.plan import RunConfig
    from harness.tasks.registry import all_tasks
    from quick_generation import generation_requests

    config = RunConfig(model="smollm2", model_args=None, tasks=[t for t in all_tasks().values() if t.sized],
                       langs=parse_langs(langs), limit=limit, seed=1234, output=Path(tempfile.gettempdir()),
                       data_dir=data_dir, use_cache=False, local_only=True, context_lengths=(length,))
    return generation_requests(config)[0]


def child(args) -> None:
    """One side: the requests (read from a file) generated with reuse on or off; a JSON line on stdout."""
    from harness.execution import decode, engine
    from harness.execution.plan import RunConfig
    from harness.execution.worker import ModelSettings, Worker

    started = time.perf_counter()
    todo = json.loads(Path(args.requests).read_text())
    if args.side == "off":
        decode.SHARE_MIN = 10 ** 9
    config = RunConfig(model="smollm2", model_args=None, tasks=[], langs=[], limit=None, seed=1234,
                       output=Path(tempfile.gettempdir()), data_dir=None, use_cache=False)
    lm = Worker(ModelSettings.of(config)).engine.lm
    counts = {"prompt_positions": 0, "steps": 0}

    def hook(module, a, kwargs):
        cache = kwargs.get("cache")
        if isinstance(cache, decode._PromptPass):  # new rows' prompts, flat: the positions each runs
            counts["prompt_positions"] += sum(cache.rests)
        elif getattr(cache, "widths", None) is not None:  # a decoding step over per-row buffers
            counts["steps"] += 1
        else:  # a model off the per-row path: left-padded prompt passes, one-token steps
            rows, columns = kwargs["input_ids"].shape
            counts["prompt_positions" if columns > 1 else "steps"] += rows * columns if columns > 1 else 1

    handle = lm.model.register_forward_pre_hook(hook, with_kwargs=True)
    outputs = engine.generate_until(lm, [c for c, _ in todo], [k for _, k in todo])
    handle.remove()
    print(json.dumps({"wall": time.perf_counter() - started, "outputs": outputs,
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **counts}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", default="4k")
    parser.add_argument("--limit", type=int, default=2)
    parser.add_argument("--langs", default=None, help="comma-separated (default: all eight)")
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA"))
    parser.add_argument("--side", choices=("on", "off"), help=argparse.SUPPRESS)
    parser.add_argument("--requests", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        child(args)
        return 0
    from harness.core.tokens import parse_length
    from harness.execution import decode

    length = parse_length(args.length)
    todo = requests(length, args.limit, args.langs, args.data_dir)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(todo, f)
    sides = {}
    for side in ("off", "on"):
        proc = subprocess.run([sys.executable, __file__, "--side", side, "--requests", f.name], cwd=ROOT,
                              capture_output=True, text=True)
        if proc.returncode:
            sys.stderr.write(proc.stderr[-3000:])
            return proc.returncode
        sides[side] = json.loads(proc.stdout.strip().splitlines()[-1])
    os.unlink(f.name)
    on, off = sides["on"], sides["off"]
    same = sum(a == b for a, b in zip(on["outputs"], off["outputs"]))
    print(f"long-context requests: {len(todo)} ({args.length}, --limit {args.limit}, langs {args.langs or 'all'}); "
          f"decode.SHARE_MIN = {decode.SHARE_MIN}\n")
    print("| measure | reuse on | reuse off | ratio |\n|---|---|---|---|")
    print(f"| whole process wall (s) | {on['wall']:.1f} | {off['wall']:.1f} | {on['wall'] / off['wall']:.2f} |")
    print(f"| prompt positions run | {on['prompt_positions']} | {off['prompt_positions']} | "
          f"{on['prompt_positions'] / off['prompt_positions']:.2f} |")
    print(f"| decoding steps | {on['steps']} | {off['steps']} | |")
    print(f"| peak RSS (MB) | {on['rss']:.0f} | {off['rss']:.0f} | |")
    print(f"| outputs identical | {same} / {len(todo)} | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
