"""The haystack of a long-context needle-in-a-haystack task (RULER, ONERULER) in one language: its text as an
ordered tuple of sentences, so that a later step can put needles at sentence boundaries and cut the text to an
exact token budget (this module never tokenizes).

Sources
    Seven languages have a public-domain book from ONERULER, one paragraph a line (headings, "* * *" rules and
    blank lines are lines too): ``from_paragraphs`` splits each non-empty line with ``text_units.sentence_spans``
    (pysbd, sentence-splitter or the danda for Hindi; see that module). Thai has no book: its haystack is the
    FLORES-200 devtest sentences followed by the NTREX-128 ones (``newstest2019-ref.tha.txt``), one sentence a
    line, which ``from_sentence_lines`` takes one to one. Both take text lines, never paths: the data layer reads
    the files and checks their checksums.

Text
    A sentence is whitespace-normalised (a run of characters for which ``str.isspace`` holds becomes one space,
    and the ends are stripped), exactly what ONERULER's ``re.sub(r"\\s+", " ", book)`` does: the 19,640 narrow
    no-break spaces of the French book (before ";", ":", "!", "?", after "―") become ordinary spaces, and
    zero-width spaces (Thai FLORES has 9) stay, since they are not whitespace. Nothing else changes and nothing
    is dropped: joining a paragraph's sentences with " " gives the normalised paragraph. A piece that
    ``sentence_spans`` does not count as a sentence (a lone "…", a closing quote after the full stop) stays with
    the sentence before it, and a line without any letter or digit ("* * *", ". . . .") is a sentence of its own.
    Sentences are joined with one space in every language, Thai included (Thai separates sentences with a space).

Length
    ``max_chars`` stops after the sentence with which the joined text reaches that many characters, so the
    haystack is never cut inside a sentence; without it the whole input is used. A 128K-token haystack needs at
    most ~700,000 characters (English, ~5 characters a token). The Italian book has only 449,636 characters and
    the Thai sentences 368,000, so those haystacks may be shorter than a long budget needs: the caller repeats
    the text then, as ONERULER does (``expand_haystack``).

Speed (``from_paragraphs(book_lines, lang, max_chars=700_000)``, one core, Python 3.11; cold = a fresh process,
imports included; warm = the libraries loaded, text_units' line cache cleared; a second build of the same lines
in one process takes ~0.1 s, as ``text_units`` caches 4,096 lines)::

    en 4.6 s cold / 3.3 s warm    de 2.4 / 1.5    fr 2.9 / 2.0    it 6.3 / 4.4 (the whole book, 449,636 chars)
    pt 2.6 / 1.8    hi 2.5 / 1.8    es 2.6 / 1.8    th (from_sentence_lines, both files) 0.01 s

Italian was 10.4 s cold before ``_large_regex_cache`` (see there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version

import regex

from harness.core.errors import OctoglotError
from harness.core.languages import get_language
from harness.tasks import text_units

JOINER = " "  # between two sentences, in every language (Thai too)
_WORD_CHAR = regex.compile(r"[\p{L}\p{M}\p{N}]")  # text_units' word character
_REGEX_CACHE = 16_384  # Italian fills ~7,300 entries; ~10 MB


@dataclass(frozen=True)
class Haystack:
    """A haystack: ``sentences`` in text order, each whitespace-normalised, stripped and non-empty; ``splitter``
    says how they were found (library and version, or the source of the sentence lines)."""

    lang: str
    sentences: tuple[str, ...]
    splitter: str
    joiner: str = JOINER

    def text(self, start: int = 0, stop: int | None = None) -> str:
        """``sentences[start:stop]`` joined with ``joiner`` (slice rules: negative indices count from the end, an
        empty range gives "")."""
        return self.joiner.join(self.sentences[start:stop])

    @property
    def n_sentences(self) -> int:
        return len(self.sentences)

    @property
    def n_chars(self) -> int:
        """``len(self.text())``, joiners included, without building the text."""
        if not self.sentences:
            return 0
        return sum(map(len, self.sentences)) + len(self.joiner) * (len(self.sentences) - 1)

    def summary(self) -> dict[str, str | int]:
        """What a run manifest records: language, splitter, number of sentences and of characters."""
        return {"lang": self.lang, "splitter": self.splitter, "sentences": self.n_sentences, "chars": self.n_chars}


def normalise(text: str) -> str:
    """Runs of whitespace (``str.isspace``: also no-break and narrow no-break spaces, not the zero-width space)
    become one space; the ends are stripped. ``"  a\\t\\u202fb \\n"`` -> ``"a b"``."""
    return " ".join(text.split())


def from_paragraphs(lines: Iterable[str], lang: str, *, max_chars: int | None = None) -> Haystack:
    """The haystack of a book given as one paragraph a line: each non-empty line is split into sentences by
    ``text_units.sentence_spans`` (a line is never joined to the next, so a heading is a sentence of its own),
    in order, until ``max_chars`` (module docstring). Blank lines are skipped. Unknown language or one without a
    splitter: ``OctoglotError``, raised before any line is read."""
    code = _code(lang)
    splitter = _splitter_name(code)
    return Haystack(code, _collect(_book_sentences(lines, code), max_chars), splitter)


def from_sentence_lines(lines: Iterable[str], lang: str, *, source: str,
                        max_chars: int | None = None) -> Haystack:
    """The haystack of text that is already one sentence a line (Thai: the FLORES-200 devtest lines, then the
    NTREX-128 lines): each non-empty line, normalised, is one sentence, in order, until ``max_chars``. ``source``
    names the lines for the record ("FLORES-200 devtest + NTREX-128"); the splitter is ``"lines (<source>)"``."""
    code = _code(lang)
    if not source.strip():
        raise OctoglotError("haystack: from_sentence_lines needs a source naming the lines")
    sentences = _collect((s for s in map(normalise, _texts(lines)) if s), max_chars)
    return Haystack(code, sentences, f"lines ({source.strip()})")


def paragraph_sentences(paragraph: str, lang: str) -> list[str]:
    """The sentences of one paragraph, normalised; ``" ".join`` of them is ``normalise(paragraph)``.

    ``text_units.sentence_spans`` finds the sentences; they part at whitespace only (``_cut``), so that no
    character but whitespace is lost or added: a piece it does not count as a sentence (a lone "…", a stray
    closing quote) stays with the sentence before it, and where it ends a sentence with no space before the
    next word ("and—oh horror!—the lobster", "3 Uhr.Dann") the two stay one sentence. A paragraph without a letter or
    a digit ("* * *") is one sentence; a blank one has none."""
    code = _code(lang)
    with _large_regex_cache():
        spans = text_units.sentence_spans(paragraph, code)
    cuts = [0]
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if (cut := _cut(paragraph, end, start)) is not None:
            cuts.append(cut)
    cuts.append(len(paragraph))
    return [s for s in (normalise(paragraph[a:b]) for a, b in zip(cuts, cuts[1:])) if s]


def _cut(paragraph: str, end: int, start: int) -> int | None:
    """Where the next sentence begins, given the splitter's ``end`` of one sentence and ``start`` of the next: the
    offset just after a whitespace character, between ``end`` and the next sentence's first word character,
    nearest to ``start`` (``start`` itself when a space precedes it), or None when there is no whitespace there.
    Pysbd cuts "Dio liberi?… E poi" before the "…" and Moses "ecc., ecc." before the ",": the cut moves to the
    space after them."""
    word = _WORD_CHAR.search(paragraph, start)
    stop = word.start() if word else len(paragraph)
    after_space = [p for p in range(end + 1, stop + 1) if paragraph[p - 1].isspace()]
    return min(after_space, key=lambda p: (abs(p - start), p), default=None)


def _book_sentences(lines: Iterable[str], code: str) -> Iterator[str]:
    for line in _texts(lines):
        if line.strip():
            yield from paragraph_sentences(line, code)


def _texts(lines: Iterable[str]) -> Iterator[str]:
    if isinstance(lines, str):  # a whole text would be iterated character by character
        raise OctoglotError("haystack: expected an iterable of lines, got one string (use str.splitlines())")
    for number, line in enumerate(lines, 1):
        if not isinstance(line, str):
            raise OctoglotError(f"haystack: line {number} is a {type(line).__name__}, not text "
                                "(pass row['text'] of a text-format file)")
        yield line


def _collect(sentences: Iterable[str], max_chars: int | None) -> tuple[str, ...]:
    """The sentences, until the joined text has ``max_chars`` characters (the sentence that reaches it is kept)."""
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1):
        raise OctoglotError(f"haystack: max_chars must be a positive integer, got {max_chars!r}")
    out: list[str] = []
    chars = -len(JOINER)
    for sentence in sentences:
        out.append(sentence)
        chars += len(JOINER) + len(sentence)
        if max_chars is not None and chars >= max_chars:
            break
    return tuple(out)


def _code(lang: str) -> str:
    try:
        return get_language(lang).code
    except OctoglotError as exc:
        raise OctoglotError(f"haystack: {exc}") from None


def _splitter_name(code: str) -> str:
    """``"text_units + <library> <version> (<lang>)"``: the library text_units chose for the language."""
    if code in text_units._PYSBD_LANGS:
        library, engine = "pysbd", ""
    elif code in text_units._MOSES_LANGS:
        library, engine = "sentence-splitter", ""
    elif code == "th":
        library, engine = "pythainlp", " crfcut"
    else:
        raise OctoglotError(f"haystack: no sentence splitter for language '{code}'")
    return f"text_units + {library} {version(library)}{engine} ({code})"


@contextmanager
def _large_regex_cache() -> Iterator[None]:
    """Let ``re`` cache up to ``_REGEX_CACHE`` compiled patterns while a book is split, then restore its limit.

    Why: pysbd builds its abbreviation regexes as strings, for every line, for each abbreviation that occurs in
    it, and compiles them through ``re``'s cache of 512 patterns. Italian has 2,225 abbreviations (English 188),
    many of them a letter or two that occur in almost every line, so the cache thrashed and each line recompiled
    its patterns: 22 us a character, 10.4 s for the Italian book, nearly half of it in ``re``'s parser (cProfile).
    With room for them, 5.4 s. Splitting long paragraphs first would not help: the cost is per line and grows
    with the line, not faster. The patterns stay cached afterwards (~10 MB for Italian) until ``re`` evicts them.
    """
    old = getattr(re, "_MAXCACHE", None)
    if not isinstance(old, int) or old >= _REGEX_CACHE:  # another Python's re: nothing to tune
        yield
        return
    re._MAXCACHE = _REGEX_CACHE
    try:
        yield
    finally:
        re._MAXCACHE = old
