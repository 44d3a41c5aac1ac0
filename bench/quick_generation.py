"""Where the quick suite's generation time goes: every generation request ``octoglot run --suite quick`` sends on
smollm2 (168 with the chat template), replayed through ``harness.execution.engine.generate_until`` in this process,
with a hook on the model's forward.

    OCTOGLOT_DATA=../shared/data python bench/quick_generation.py [--out outputs.json] [--same-as earlier.json]

Prints the wall, the prompt passes (calls, seconds, padded positions), the decoding steps (count, seconds, row-steps,
positions run: each row's chosen token and its prompt-lookup draft, tokens kept) and, by rows per step, the steps,
seconds, positions per second, positions per row and mean cache length; then the peak RSS. ``--out`` writes the
outputs and ``--same-as`` counts those identical to an earlier ``--out``, to compare two versions of the loop
request by request. No peer column: lm-eval's side of generation is in ``bench/vs_lmeval.py --only generation``.
Nothing here is a test.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def generation_requests(config) -> tuple[list[tuple[str, dict]], object]:
    """Every generation request a run with this config sends, as (context, generation kwargs), and the worker that
    built them (its engine's ``lm`` loads the model)."""
    from harness.execution.plan import plan
    from harness.execution.worker import ModelSettings, Worker

    units, _ = plan(config)
    worker = Worker(ModelSettings.of(config))
    return [r for u in units if u.task.kind == "generate" for s in u.samples
            for r in worker.requests(u.task, s)], worker


def main() -> int:
    from harness.core.languages import LANGUAGES
    from harness.execution import decode, engine
    from harness.execution.plan import RunConfig
    from harness.tasks.suites import get_suite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA"))
    parser.add_argument("--out", help="write the outputs (a JSON list) here")
    parser.add_argument("--same-as", help="count the outputs identical to those in this file (from --out)")
    args = parser.parse_args()

    tasks, limits = get_suite("quick")
    config = RunConfig(model="smollm2", model_args=None, tasks=tasks, langs=list(LANGUAGES.values()), limit=limits,
                       seed=1234, output=Path(tempfile.gettempdir()), data_dir=args.data_dir, use_cache=False,
                       local_only=True)
    todo, worker = generation_requests(config)
    lm = worker.engine.lm
    calls: list[tuple[bool, int, float, int, float]] = []  # a step?, rows, positions a row, cache length, seconds
    forward = lm.model.forward

    def timed(*a, **kw):
        started = time.perf_counter()
        cache = kw.get("cache")
        widths = getattr(cache, "widths", None)  # a decoding step over per-row buffers: positions per row
        out = forward(*a, **kw)
        rows, columns = kw["input_ids"].shape
        if isinstance(cache, decode._PromptPass):  # new rows' prompts, flat: the positions each runs
            calls.append((False, len(cache.rests), sum(cache.rests) / len(cache.rests), 0,
                          time.perf_counter() - started))
            shared[0] += sum(cache.shared)
            return out
        mask, lengths = kw.get("attention_mask"), getattr(cache, "lengths", None)
        if widths is not None:
            rows, columns = len(widths), sum(widths) / len(widths)
        width = mask.shape[1] if mask is not None else (sum(lengths) // max(1, len(lengths)) if lengths else columns)
        calls.append((widths is not None or columns == 1, rows, columns, width, time.perf_counter() - started))
        return out

    kept = [0]
    shared = [0]  # prompt positions taken from another prompt's keys and values (decode.SHARE_MIN)
    extend = decode._extend

    def counted(lm_, request, tokens, lookup, new, ends):  # the tokens appended (none after a row's end)
        before = len(tokens)
        ended = extend(lm_, request, tokens, lookup, new, ends)
        kept[0] += len(tokens) - before
        return ended

    lm.model.forward = timed
    decode._extend = counted
    started = time.perf_counter()
    outputs = engine.generate_until(lm, [c for c, _ in todo], [k for _, k in todo])
    wall = time.perf_counter() - started
    lm.model.forward = forward
    decode._extend = extend
    if args.out:
        Path(args.out).write_text(json.dumps(outputs))
    if args.same_as:
        before = json.loads(Path(args.same_as).read_text())
        same = sum(a == b for a, b in zip(outputs, before))
        print(f"outputs identical to {args.same_as}: {same}/{len(outputs)}")
    prompts = [c[1:] for c in calls if not c[0]]
    steps = [c[1:] for c in calls if c[0]]
    print(f"{len(todo)} generation requests of the quick suite; wall {wall:.1f} s")
    print(f"prompt passes: {len(prompts)}, {sum(c[3] for c in prompts):.1f} s, "
          f"{sum(c[0] * c[1] for c in prompts):.0f} positions run, {shared[0]} taken from another prompt "
          f"(decode.SHARE_MIN={decode.SHARE_MIN})")
    positions = sum(c[0] * c[1] for c in steps)
    print(f"decoding steps: {len(steps)}, {sum(c[3] for c in steps):.1f} s, {sum(c[0] for c in steps)} row-steps, "
          f"{positions:.0f} positions run, {kept[0]} tokens kept "
          f"(prompt lookup, decode.SPECULATE={decode.SPECULATE})\n")
    print("| rows per step | steps | seconds | positions/s | mean positions per row | mean cache length |\n"
          "|---|---|---|---|---|---|")
    by = collections.defaultdict(lambda: [0, 0.0, 0, 0.0, 0])
    for rows, columns, width, seconds in steps:
        entry = by[rows // 4 * 4]
        entry[0] += 1
        entry[1] += seconds
        entry[2] += rows
        entry[3] += rows * columns
        entry[4] += width
    for low in sorted(by):
        n, seconds, rows, run, widths = by[low]
        print(f"| {low}–{low + 3} | {n} | {seconds:.1f} | {run / seconds:.0f} | {run / rows:.2f} | {widths / n:.0f} |")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
