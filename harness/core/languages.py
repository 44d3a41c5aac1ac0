"""The eight languages octoglot covers, with the facts tasks and scorers need.

Everything language-specific that is code-facing (codes, script, digits, decimal
separator) lives here once; everything prompt-facing (words, sentences) lives in
the language's pack, ``langs/<code>/pack.yaml``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from harness.core.errors import OctoglotError


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1
    flores: str  # FLORES-200 code: ISO 639-3 + ISO 15924 script
    english_name: str
    native_name: str
    script: str  # ISO 15924
    digits: str  # the ten native digits, 0..9 in order
    decimal_separator: str
    thousands_separator: str
    full_stop: str
    word_spaces: bool  # False for scripts written without spaces between words


_ASCII = "0123456789"

LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "eng_Latn", "English", "English", "Latn", _ASCII, ".", ",", ".", True),
        Language("de", "deu_Latn", "German", "Deutsch", "Latn", _ASCII, ",", ".", ".", True),
        Language("fr", "fra_Latn", "French", "Français", "Latn", _ASCII, ",", "\u202f", ".", True),
        Language("it", "ita_Latn", "Italian", "Italiano", "Latn", _ASCII, ",", ".", ".", True),
        Language("pt", "por_Latn", "Portuguese", "Português", "Latn", _ASCII, ",", ".", ".", True),
        Language("hi", "hin_Deva", "Hindi", "हिन्दी", "Deva", "०१२३४५६७८९", ".", ",", "।", True),
        Language("es", "spa_Latn", "Spanish", "Español", "Latn", _ASCII, ",", ".", ".", True),
        Language("th", "tha_Thai", "Thai", "ไทย", "Thai", "๐๑๒๓๔๕๖๗๘๙", ".", ",", " ", False),
    )
}

ALL_CODES: tuple[str, ...] = tuple(LANGUAGES)


def ordered(codes) -> list[str]:
    """Language codes in octoglot's order (en de fr it pt hi es th), unknown codes after them, sorted."""
    codes = set(codes)
    return [c for c in ALL_CODES if c in codes] + sorted(codes - set(ALL_CODES))


def suggest(name: str, known: list[str] | tuple[str, ...]) -> str:
    """A ' Did you mean ...?' hint for an unknown name, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f" Did you mean '{close[0]}'?" if close else ""


def get_language(code: str) -> Language:
    """Look up a language by ISO code, FLORES code or English name (case-insensitive)."""
    key = code.strip()
    if key in LANGUAGES:
        return LANGUAGES[key]
    for lang in LANGUAGES.values():
        if key.lower() in (lang.code, lang.flores.lower(), lang.english_name.lower()):
            return lang
    names = list(LANGUAGES) + [lang.flores for lang in LANGUAGES.values()]
    raise OctoglotError(
        f"unknown language '{code}'.{suggest(key, names)} Available: {', '.join(LANGUAGES)}"
    )


def parse_langs(spec: str | None) -> list[Language]:
    """Parse a comma-separated ``--langs`` value; None or 'all' means all eight."""
    if spec is None or spec.strip() in ("", "all"):
        return list(LANGUAGES.values())
    out: list[Language] = []
    for part in spec.split(","):
        if part.strip():
            try:
                lang = get_language(part)
            except OctoglotError as exc:  # name the flag
                raise OctoglotError(f"--langs: {exc}") from None
            if lang not in out:
                out.append(lang)
    if not out:
        raise OctoglotError(f"--langs: expected comma-separated codes from {', '.join(LANGUAGES)}")
    return out
