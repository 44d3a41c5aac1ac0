"""Where the quick suite's generation time goes: every generation request ``octoglot run --suite quick`` sends on
smollm2 (168 with the chat template), replayed through ``harness.execution.engine.generate_until`` in this process,
with a hook on the model's forward.

    OCTOGLOT_DATA=../shared/data python bench/quick_generation.py [--out outputs.json] [--same-as earlier.json]

Prints the wall, the prompt passes (calls, seconds, padded positions), the decoding steps (count, seconds, row-steps,
positions run: each row's chosen token and its prompt-lookup draft, tokens kept) and, by rows per step, the steps,
seconds, positions per second, positions per row and mean cache length; then the peak RSS. ``--out`` writes the
outputs and ``--same-as`` counts those identical to an earlier ``--out``, to compare two versions of the loop
request by request. ``--policies`` then replays every row's exact tokens (its prompt, and the output the model
gave) through other prompt-lookup settings (``decode.SPECULATE``, ``DRAFT_START``, ``LOOKUP_NGRAM``,
``LOOKUP_MIN``): a draft is kept exactly as far as it matches the output, so each setting's row-steps and positions
are what the loop would run, and ``--step-cost A,B,C`` (``bench/step_cost.py``'s fit, ms a step, a row, a position)
turns them into seconds, a step's share spread over the rows of the mean step. No peer column: lm-eval's side of
generation is in ``bench/vs_lmeval.py --only generation``. Nothing here is a test.
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
    parser.add_argument("--policies", action="store_true", help="replay the rows' tokens through other draft settings")
    parser.add_argument("--step-cost", default="52,4.6,2.1", help="ms a step, a row, a position (bench/step_cost.py)")
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

    replayed: list[tuple[list[int], list[int], int]] = []  # each request's prompt, output tokens and budget
    continuous = decode._continuous

    def captured(lm_, requests, pending, generated, ends, done, *rest):
        continuous(lm_, requests, pending, generated, ends, done, *rest)
        replayed.extend((r.ids, g, r.budget) for r, g in zip(requests, generated))

    lm.model.forward = timed
    decode._extend = counted
    decode._continuous = captured
    started = time.perf_counter()
    outputs = engine.generate_until(lm, [c for c, _ in todo], [k for _, k in todo])
    wall = time.perf_counter() - started
    lm.model.forward = forward
    decode._extend = extend
    decode._continuous = continuous
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
    if args.policies:
        a, b, c = (float(x) for x in args.step_cost.split(","))
        per_row = b + a * len(steps) / max(1, sum(s[0] for s in steps))  # a step's share, spread over its rows
        print(f"\nDraft settings replayed over the {len(replayed)} rows' exact tokens (estimate: {per_row:.1f} ms "
              f"a row-step, {c:.1f} ms a position)\n\n| setting | row-steps | positions | estimate (s) |\n"
              "|---|---|---|---|")
        for name, setting in POLICIES:
            row_steps, run = replay(decode, replayed, setting)
            print(f"| {name} | {row_steps} | {run} | {(per_row * row_steps + c * run) / 1000:.1f} |")
    return 0


POLICIES = [("as shipped", {}), ("SPECULATE 8", {"SPECULATE": 8}), ("SPECULATE 12", {"SPECULATE": 12}),
            ("SPECULATE 24", {"SPECULATE": 24}), ("SPECULATE 32", {"SPECULATE": 32}),
            ("DRAFT_START 2", {"DRAFT_START": 2}), ("DRAFT_START 8", {"DRAFT_START": 8}),
            ("LOOKUP_NGRAM 4", {"LOOKUP_NGRAM": 4}), ("LOOKUP_NGRAM 5", {"LOOKUP_NGRAM": 5}),
            ("LOOKUP_MIN 1", {"LOOKUP_MIN": 1}), ("LOOKUP_MIN 3, LOOKUP_NGRAM 4", {"LOOKUP_MIN": 3, "LOOKUP_NGRAM": 4}),
            ("no drafts", {"SPECULATE": 0})]


def replay(decode, rows: list[tuple[list[int], list[int], int]], setting: dict) -> tuple[int, int]:
    """Row-steps and positions the decoding loop runs for these rows under ``setting`` (decode's constants): each
    step runs a row's last token and its draft, keeps the draft as far as it matches the row's output, plus the
    model's next token (as ``decode._step`` does); the first token comes from the prompt pass. Rows replay alone, so
    the longer drafts ``decode._fill`` puts into a step's padded positions (which depend on the rows beside them)
    are not replayed: the figures are those of the unfilled drafts."""
    saved = {name: getattr(decode, name) for name in setting}
    for name, value in setting.items():
        setattr(decode, name, value)
    try:
        row_steps = positions = 0
        for ids, output, budget in rows:
            if not output:
                continue
            lookup, made = decode._Lookup(ids + output[:1]), 1
            while made < len(output):
                room = min(decode.SPECULATE, budget - made - 1)
                draft = lookup.draft(room) if room > 0 else []
                kept = 0
                while kept < len(draft) and made + kept < len(output) and draft[kept] == output[made + kept]:
                    kept += 1
                lookup.judged(len(draft), kept)
                for token in output[made:made + kept + 1]:
                    lookup.append(token)
                made += kept + 1
                row_steps += 1
                positions += 1 + len(draft)
        return row_steps, positions
    finally:
        for name, value in saved.items():
            setattr(decode, name, value)


if __name__ == "__main__":
    sys.exit(main())
