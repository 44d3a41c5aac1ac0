"""How fast BFCL answers are scored: every item of the eleven single-turn categories (3,491, of which 2,351 with a
ground truth; the five whose ground truth contradicts its documents are left out), its ground truth written as a
model would write it, read back and judged.

    OCTOGLOT_DATA=../shared/data python bench/bfcl_scoring.py

An item with a ground truth answers with it in BFCL's Python syntax (``[f(a=1), g(b="x")]``: each parameter's first
acceptable value, as ``call_checker.answer_as_calls`` writes it); irrelevance items answer in prose, relevance items
with a call. Three passes over the same answers, warm (the language detector is loaded before the clock starts):

- ``checker``: the AST rules alone on the ground truth's calls (``call_checker.check``);
- ``parse + checker``: the answer text read with ``ast`` (``tool_calls.parse``), then judged;
- ``full scorer``: the family's ``score``: parsing, judging, the request's language and every string argument's
  language; once per installed language detector (langdetect, the default, is the slowest).

The target, scoring every ground-truth answer by the AST rules (``parse + checker``), is 5 s or less; the language
tagging on top of it is printed per detector. BFCL's own checker is not timed beside it: the ``bfcl-eval`` wheel
pins 30 dependencies (numpy 1.26 among them) that this environment does not have. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_SECONDS = 5.0


def as_text(calls: list[dict]) -> str:
    return "[" + ", ".join(f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"
                           for call in calls for name, args in call.items()) + "]"


def main() -> int:
    from harness.core import langid
    from harness.core.languages import parse_langs
    from harness.execution.plan import RunConfig, plan
    from harness.tasks import call_checker, tool_calls
    from harness.tasks.families import tool_calling
    from harness.tasks.registry import get_task

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA"))
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("--data-dir or $OCTOGLOT_DATA: the real data directory")

    config = RunConfig(model="bench", model_args=None, tasks=[get_task("bfcl")], langs=parse_langs("en"), limit=None,
                       seed=1234, output=Path("."), data_dir=args.data_dir)
    (unit,), _ = plan(config)
    samples = [s for s in unit.samples if not s.meta["data_error"]]
    answers = []
    for s in samples:
        if s.meta["answers"] is not None:
            answers.append(as_text(call_checker.answer_as_calls(s.meta["answers"], s.meta["functions"])))
        else:
            answers.append("None of these functions can do that." if s.meta["kind"] == "irrelevance" else "[f(x=1)]")
    langid.detect("warm up the detector")
    calls = [tool_calls.parse(a).calls for a in answers]

    def checker():
        return [call_checker.check(s.meta["functions"], c, s.meta["answers"] or [], s.meta["kind"]).valid
                for s, c in zip(samples, calls)]

    def parse_and_check():
        return [call_checker.check(s.meta["functions"], tool_calls.parse(a).calls, s.meta["answers"] or [],
                                   s.meta["kind"]).valid for s, a in zip(samples, answers)]

    def full():
        return [tool_calling.score(s, a).metrics["accuracy"] == 1.0 for s, a in zip(samples, answers)]

    from harness.core.langid import DETECTORS

    print(f"{len(samples)} items ({sum(s.meta['answers'] is not None for s in samples)} with a ground truth; "
          f"{len(unit.samples) - len(samples)} data errors left out), target {TARGET_SECONDS:.0f} s")
    passes = [("checker", checker), ("parse + checker", parse_and_check)]
    for detector in DETECTORS:
        try:
            langid.set_detector(detector)
            langid.detect("warm up the detector")  # loads its model before the clock starts
        except Exception as exc:  # noqa: BLE001 - a detector that is not installed is skipped, said so
            print(f"full scorer ({detector}): not installed ({exc})")
            continue

        def with_detector(detector=detector):
            langid.set_detector(detector)
            langid._detect.cache_clear()  # every text detected afresh: the cache would time a dictionary lookup
            return full()

        passes.append((f"full scorer ({detector})", with_detector))
    timed = {}
    for name, run in passes:
        start = time.perf_counter()
        verdicts = run()
        timed[name] = seconds = time.perf_counter() - start
        print(f"{name:28s} {seconds:6.2f} s  {len(samples) / seconds:8.0f} items/s  right: {sum(verdicts)} of "
              f"{len(verdicts)}")
    seconds = timed["parse + checker"]
    print(f"target {'met' if seconds <= TARGET_SECONDS else 'MISSED'}: every ground-truth answer scored by the AST "
          f"rules in {seconds:.2f} s ({seconds / TARGET_SECONDS:.3f} of the {TARGET_SECONDS:.0f} s budget)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
