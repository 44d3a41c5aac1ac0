"""How fast the instruction checkers judge: every prompt of Marco-Bench-MIF in its seven languages (541 × 7), strict
and loose (IFEval's eight variants of each response), over canned responses.

    OCTOGLOT_DATA=../shared/data python bench/ifeval_checkers.py

The canned response of a prompt is real text in its language, a different one for every prompt (nothing is reused
across prompts): 12 consecutive FLORES-200 devtest sentences of that language (a window that moves by one sentence
from prompt to prompt) in three paragraphs (blank lines), with a title, a bullet and a comma, so word, sentence,
paragraph, keyword and language checks do real work (Thai words through PyThaiNLP's segmenter). Prints the time to build the checkers, the time to judge, and
prompts per second, once per installed language detector (the response-language instruction asks it; langdetect,
the default, is the slowest); the target is every prompt in 10 s or less. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LANGS = ("en", "de", "fr", "it", "pt", "es", "th")


def canned(lines: list[str], start: int) -> str:
    window = [lines[(start + i) % len(lines)] for i in range(12)]
    paragraphs = [" ".join(window[i:i + 4]) for i in range(0, 12, 4)]
    return "<<Title>>\n\n" + "\n\n".join(paragraphs) + "\n* a point, with a comma\n"


def main() -> int:
    from harness.core import langid
    from harness.core.languages import LANGUAGES, parse_langs
    from harness.execution.plan import RunConfig, plan
    from harness.tasks import instructions, text_units
    from harness.tasks.registry import get_task

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA"))
    args = parser.parse_args()
    data_dir = Path(args.data_dir)

    config = RunConfig(model="bench", model_args=None, tasks=[get_task("ifeval")], langs=parse_langs(",".join(LANGS)),
                       limit=None, seed=1234, output=Path("."), data_dir=str(data_dir))
    units, _ = plan(config)
    flores = {u.lang: (data_dir / "flores200" / "devtest" / f"{LANGUAGES[u.lang].flores}.devtest")
              .read_text(encoding="utf-8").splitlines() for u in units}
    for lang, lines in flores.items():  # warm up each language's segmenters once (imports, dictionaries)
        instructions.judge([instructions.checker("length_constraints:number_sentences",
                                                 {"relation": "at least", "num_sentences": 1}, lang=lang, prompt="",
                                                 literals={})], canned(lines, 500))

    started = time.perf_counter()
    prepared = []
    for unit in units:
        for sample in unit.samples:
            if sample.meta["data_error"]:
                continue
            checks = [instructions.checker(i, kw, lang=unit.lang, prompt=sample.prompt, literals=sample.meta["literals"])
                      for i, kw in zip(sample.meta["instructions"], sample.meta["kwargs"])]
            prepared.append((unit.lang, checks, canned(flores[unit.lang], len(prepared))))
    built = time.perf_counter() - started
    total = sum(len(checks) for _, checks, _ in prepared)

    print(f"\n{len(prepared)} prompts ({', '.join(LANGS)}), {total} instructions, {os.cpu_count()} cores; "
          f"building their checkers: {built:.2f} s\n")
    print("| language detector | judging, strict and loose (s) | prompts per second | followed strictly | "
          "target: 10 s |")
    print("|---|---|---|---|---|")
    for detector in langid.DETECTORS:
        try:
            langid.detect("Ein kurzer deutscher Satz zum Aufwärmen.", detector)
        except Exception as exc:  # noqa: BLE001 - an optional detector that is not installed
            print(f"| {detector} | not installed ({str(exc).splitlines()[0][:60]}) | | | |")
            continue
        langid.set_detector(detector)
        text_units._line_spans.cache_clear()  # every detector starts from cold segmentation caches
        text_units._thai_line_cuts.cache_clear()
        started = time.perf_counter()
        followed = 0
        for lang, checks, response in prepared:
            strict, _ = instructions.judge(checks, response)
            followed += sum(strict)
        judged = time.perf_counter() - started
        print(f"| {detector}{' (default)' if detector == langid.DEFAULT_DETECTOR else ''} | {judged:.2f} | "
              f"{len(prepared) / (built + judged):.0f} | {followed} of {total} | "
              f"{'met' if built + judged <= 10 else 'MISSED'} |")
    langid.set_detector(None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
