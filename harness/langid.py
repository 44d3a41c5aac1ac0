"""Language identification of generated text: which language did the model answer in?

The default detector is langdetect, seeded (``DetectorFactory.seed = 0``) so that the
same text always gets the same answer.
"""

from __future__ import annotations

from functools import cache

from harness.languages import LANGUAGES


@cache
def _langdetect():
    from langdetect import DetectorFactory, detect_langs

    DetectorFactory.seed = 0
    return detect_langs


def detect(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None for text with nothing to detect."""
    if not text or not any(ch.isalpha() for ch in text):
        return None
    from langdetect.lang_detect_exception import LangDetectException

    try:
        best = _langdetect()(text)[0]
    except LangDetectException:
        return None
    return best.lang.split("-")[0]


def is_language(text: str, lang: str) -> bool:
    return detect(text) == LANGUAGES[lang].code
