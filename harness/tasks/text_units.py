"""Words and sentences of a text in one of octoglot's languages, for instruction-following checkers (IFEval's
"at least 300 words", "exactly 5 sentences", "the word X at least 3 times", "the first word of paragraph 2") and
for inserting a needle at a sentence boundary.

Every function is pure and takes the language as an ISO code (``get_language`` also accepts a FLORES code or an
English name); an unknown language is an ``OctoglotError``.

Words
    A *word character* is one whose Unicode category starts with L, M or N (letters, combining marks, digits).
    A word is a maximal run of word characters; in Thai, which has no spaces between words, the run is also cut
    at the word boundaries of PyThaiNLP's ``newmm`` segmenter (its dictionary ships in the wheel). So English
    counts as IFEval's ``\\w+`` does on ordinary text: "don't" is 2 words ("don", "t"), "3.5" is 2, "e.g." is 2;
    unlike ``\\w``, "_" is not a word character ("snake_case" is 2 words) and combining marks are: Python's ``\\w``
    leaves out the Devanagari vowel signs and viramas (Mc/Mn), so ``re.findall(r"\\w+")`` finds 9 "words" in the
    5-word "मैं आज बाज़ार जाऊँगा अभी". Latin words and digits inside a Thai text count as they would in English.

Sentences
    A line break always ends a sentence (a bullet, a heading and a line of a poem each count; hard-wrapped prose
    must be unwrapped first). Each line is split by a library that knows the language; the pieces are spans of
    the text, stripped, and a piece without a word character (a "---" rule, a lone "…") is not a sentence.
    Never English punkt: lm-eval's IFEval uses nltk's, which knows no other language's abbreviations and tries a
    download at import. Chosen per language on hand-made abbreviation cases (the tests keep the telling ones):

    - en, it: pysbd. Its English rules handle "U.S. It", lower-case sentence starts and "1. First"; for Italian it
      knows lower-case "dott.", "prof.", "ing.", "ca.", which Moses's case-sensitive list lacks.
    - de, fr, pt, es: sentence-splitter (Moses non-breaking prefixes). pysbd has no Portuguese; its French list
      lacks "Dr.", "p.", "av.", "MM."; its German splits "19. Jh." and "1. Jan. 2000"; its Spanish splits after
      "Sr.", "Dra." and "p. ej.".
    - hi: pysbd "hi": a sentence ends at the danda "।" (or "|", "?", "!"). A Latin "." does not end a Hindi
      sentence (it is also the abbreviation point, "डॉ. शर्मा"), nor does the double danda "॥" of verse.
    - th: PyThaiNLP's ``crfcut`` (a CRF model that ships in the wheel; needs python-crfsuite). Thai marks
      sentences with a space, which also separates clauses: crfcut sometimes takes a clause for a sentence (it
      splits before "เพราะ", "because") and sometimes joins two short sentences ("สวัสดีครับ ผมชื่อสมชาย").

    Where the chosen library misses a common abbreviation, ``_NO_BREAK_AFTER`` (never ends a sentence: titles
    before a name, such as Spanish "Sra." and "Dra.", which Moses lists in lower case only) and
    ``_NO_BREAK_BEFORE_NUMBER`` (no break when a number follows: "pág. 12", "jan. 1990") join the pieces again.

The libraries are imported on first use, never when this module is imported. PyThaiNLP is run with
``PYTHAINLP_OFFLINE`` and ``PYTHAINLP_READ_ONLY`` set (unless the environment sets them): it uses only the data in
its wheel, so it must neither download nor create ``~/pythainlp-data``.
"""

from __future__ import annotations

import os
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from functools import cache, lru_cache

import regex

from harness.core.errors import OctoglotError
from harness.core.languages import get_language

_WORD_CHARS = r"[\p{L}\p{M}\p{N}]"
_WORD_RUN = regex.compile(_WORD_CHARS + "+")
_HAS_WORD_CHAR = regex.compile(_WORD_CHARS)
_LINE = regex.compile(r"[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")  # a line: str.splitlines's breaks, not empty

# Supplements to the chosen splitter's abbreviations, without the final point; matched ignoring case.
_NO_BREAK_AFTER: dict[str, frozenset[str]] = {  # titles before a name: never end a sentence
    "de": frozenset("hr hrn fr frl".split()),  # Moses de: "Fr. Weber" would split
    "fr": frozenset("pr mgr me".split()),  # Moses fr: "Pr. Martin" (professeur) would split
    "pt": frozenset("exma sras srs".split()),
    "es": frozenset("sra sras srta sres srs dra dña lic ing profa ud uds vd vds avda av".split()),  # Moses: "sra" only
}
_NO_BREAK_BEFORE_NUMBER: dict[str, frozenset[str]] = {  # page, number, volume, month: no break before a number
    # words that are also ordinary words ("no", Spanish "mar" = sea, Italian "ago" = needle) are left out
    "en": frozenset("p pp vol ch fig approx jan feb apr jun jul aug sep sept oct nov dec".split()),
    "de": frozenset("s nr bd abs tel jan feb apr jun jul aug sep sept okt nov dez".split()),
    "fr": frozenset("p pp n vol chap janv févr avr juil sept oct nov déc".split()),
    "it": frozenset("p pag n vol cap gen feb apr mag giu lug sett ott nov dic".split()),
    "pt": frozenset("p pág n nº vol cap aprox jan fev abr jun jul ago set out nov dez".split()),
    "es": frozenset("p pág núm vol cap aprox ene feb abr jun jul ago sep sept oct nov dic".split()),
}
_PYSBD_LANGS = frozenset({"en", "it", "hi"})
_MOSES_LANGS = frozenset({"de", "fr", "pt", "es"})


def _code(lang: str) -> str:
    return get_language(lang).code


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN"


# --- the libraries, loaded on first use -------------------------------------------------------------------


def pythainlp_offline() -> None:
    """Before PyThaiNLP is imported: the wheel's data only (never download), and never create ~/pythainlp-data
    (unless the environment says otherwise)."""
    os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")


@cache
def _thai_tokenizers() -> tuple[Callable[..., list[str]], Callable[..., list[str]]]:
    pythainlp_offline()
    from pythainlp.tokenize import sent_tokenize, word_tokenize

    return word_tokenize, sent_tokenize


@cache
def _splitter(lang: str) -> Callable[[str], list[str]]:
    """The chosen sentence splitter of a language: one line in, its sentences out (their text, maybe reshaped)."""
    if lang in _PYSBD_LANGS:
        import pysbd

        return pysbd.Segmenter(language=lang, clean=False).segment
    if lang in _MOSES_LANGS:
        from sentence_splitter import SentenceSplitter

        return SentenceSplitter(language=lang).split
    if lang == "th":
        sent_tokenize = _thai_tokenizers()[1]
        return lambda line: sent_tokenize(line, engine="crfcut")
    raise OctoglotError(f"text_units: no sentence splitter for language '{lang}'")


# --- words -------------------------------------------------------------------------------------------------


def _cuts(text: str, lang: str) -> list[int]:
    """Offsets, ascending, where a word ends even between two word characters: newmm's word boundaries in Thai,
    none in the languages written with spaces."""
    if get_language(lang).word_spaces or not text:
        return []
    cuts: list[int] = []
    for line in _LINE.finditer(text):  # a line break is a word boundary: segment line by line, each line once
        cuts += [line.start() + cut for cut in _thai_line_cuts(line.group())]
    return cuts


@lru_cache(maxsize=4096)
def _thai_line_cuts(line: str) -> tuple[int, ...]:
    word_tokenize = _thai_tokenizers()[0]
    cuts, offset = [], 0
    for token in word_tokenize(line, engine="newmm", keep_whitespace=True):
        offset += len(token)
        cuts.append(offset)
    if offset != len(line):  # newmm's tokens always spell the text; if one day they do not, fail loudly
        raise OctoglotError(f"text_units: PyThaiNLP's newmm tokens do not spell the text ({offset} != {len(line)})")
    return tuple(cuts)


def _word_spans(text: str, lang: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _WORD_RUN.finditer(text)]
    cuts = _cuts(text, lang)
    if not cuts:
        return spans
    out: list[tuple[int, int]] = []
    for start, end in spans:
        for cut in cuts[bisect_right(cuts, start):bisect_left(cuts, end)]:
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def words(text: str, lang: str) -> list[str]:
    """The words of ``text``: maximal runs of word characters (Unicode category L, M or N), cut in Thai at
    PyThaiNLP newmm's word boundaries. English "don't" is 2 words and "3.5" is 2, as with IFEval's ``\\w+``;
    a Hindi word keeps its vowel signs and viramas ("मैं आज बाज़ार जाऊँगा अभी" is 5 words, ``\\w+`` finds 9);
    in Thai "แมวนอนบนโซฟา" is 4 (แมว|นอน|บน|โซฟา), and "ๆ" (the repetition mark) is a word of its own."""
    return [text[start:end] for start, end in _word_spans(text, _code(lang))]


def count_words(text: str, lang: str) -> int:
    """``len(words(text, lang))``."""
    return len(words(text, lang))


def first_word(paragraph: str, lang: str) -> str | None:
    """The first word of ``paragraph`` as ``words`` sees it, lower-cased, or None when it has none. Leading
    quotes, bullets and markup are skipped ('"**Hello** there' -> "hello"); "Don't" gives "don", as IFEval's own
    first-word check (which stops at the apostrophe) does."""
    found = words(paragraph, lang)
    return found[0].lower() if found else None


# --- keywords ----------------------------------------------------------------------------------------------


def keyword_count(text: str, keyword: str, lang: str) -> int:
    """How often ``keyword`` (a word or a sequence of words) occurs in ``text`` as a whole word, ignoring case
    (full case folding: "STRASSE" finds "Straße"); both are NFC-normalised first, and whitespace inside the
    keyword matches any whitespace. Occurrences do not overlap.

    An occurrence counts when each of its ends is next to a non-word character (or the text's end): "test" is
    not found in "testing" nor in "retest", but is in "test-driven" and "(test)". This is ``\\b`` done right
    for Devanagari: a Hindi keyword ending in a vowel sign such as "बाज़ारों" is found where ``\\b`` fails.

    Thai has no spaces, so an end next to a Thai letter counts when it falls on a word boundary of PyThaiNLP's
    newmm segmentation of the whole text: a keyword that is a segmented word, or a run of them, counts; one
    inside a longer word does not ("ข้าว" is not found in "ข้าวผัด"). Limits: newmm's dictionary decides what
    a word is, so a common compound hides its parts ("ข้าว" in "กินข้าว" is not found, newmm keeps "กินข้าว"
    whole), and the text around an occurrence can move its boundaries (a keyword that newmm would split
    differently in context is missed). Count Thai keywords that are single dictionary words.
    """
    code = _code(lang)
    keyword = unicodedata.normalize("NFC", keyword).strip()
    if not keyword:
        raise OctoglotError("text_units: keyword_count needs a non-empty keyword")
    text = unicodedata.normalize("NFC", text)
    pattern = regex.compile(r"\s+".join(regex.escape(part) for part in keyword.split()),
                            regex.IGNORECASE | regex.FULLCASE)
    cuts = frozenset(_cuts(text, code))

    def edge(offset: int) -> bool:
        return (offset in (0, len(text)) or offset in cuts
                or not (_is_word_char(text[offset - 1]) and _is_word_char(text[offset])))

    count, pos = 0, 0
    while (match := pattern.search(text, pos)) is not None:
        start, end = match.span()
        if edge(start) and edge(end):
            count, pos = count + 1, end
        else:
            pos = start + 1
    return count


# --- sentences ---------------------------------------------------------------------------------------------


def _align(line: str, pieces: list[str], base: int) -> list[tuple[int, int]]:
    """The spans, in ``line`` shifted by ``base``, of a splitter's pieces; a splitter may change whitespace
    (sentence-splitter collapses runs of spaces), so a piece matches with any whitespace between its parts."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for piece in pieces:
        parts = piece.split()
        if not parts:
            continue
        found = regex.compile(r"\s+".join(regex.escape(p) for p in parts)).search(line, pos)
        if found is None:  # the splitter changed more than whitespace: keep the rest of the line as one piece
            spans.append((base + pos, base + len(line)))
            return spans
        spans.append((base + found.start(), base + found.end()))
        pos = found.end()
    return spans


def _rejoin(text: str, spans: list[tuple[int, int]], lang: str) -> list[tuple[int, int]]:
    """Join a piece to the next where it ends in an abbreviation the library missed (``_NO_BREAK_*``)."""
    after, before_number = _NO_BREAK_AFTER.get(lang, frozenset()), _NO_BREAK_BEFORE_NUMBER.get(lang, frozenset())
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out:
            prev = text[out[-1][0]:out[-1][1]]
            last = prev.split()[-1] if prev.endswith(".") else ""
            abbreviation = last[:-1].lstrip("(\"'«¿¡").casefold()
            if abbreviation in after or (abbreviation in before_number and text[start:end][:1].isdigit()):
                out[-1] = (out[-1][0], end)
                continue
        out.append((start, end))
    return out


def sentence_spans(text: str, lang: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (see ``sentences``), in order: a needle goes at an ``end``."""
    return list(_sentence_spans(text, _code(lang)))


def _sentence_spans(text: str, code: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        if line.group().strip():
            spans += [(line.start() + start, line.start() + end) for start, end in _line_spans(line.group(), code)]
    return tuple(spans)


@lru_cache(maxsize=4096)
def _line_spans(line: str, code: str) -> tuple[tuple[int, int], ...]:
    """The sentences of one line, relative to it. Cached by line: IFEval's loose readings of a response drop its
    first or last line, so every other line is split once for all of them (pysbd takes ~10 ms a line)."""
    spans = _rejoin(line, _align(line, _splitter(code)(line), 0), code)
    return tuple((start, end) for start, end in spans if _HAS_WORD_CHAR.search(line, start, end))


def sentences(text: str, lang: str) -> list[str]:
    """The sentences of ``text``, stripped, each a substring of it: every line break ends one, and each line is
    split by the language's splitter (module docstring): "Dr. Müller kam. Er lachte." is 2 in German, "O Sr.
    Silva chegou. Ele sorriu." 2 in Portuguese, "राम घर गया। सीता स्कूल गई।" 2 in Hindi. A text that is only
    whitespace has none, and so has a piece without a letter or digit (a "---" line)."""
    return [text[start:end] for start, end in sentence_spans(text, lang)]


def count_sentences(text: str, lang: str) -> int:
    """``len(sentences(text, lang))``."""
    return len(sentences(text, lang))
