"""Read the final numeric answer out of a model's MGSM response, in all eight languages.

``extract_number(text, lang, answer_words=..., answer_phrases=...)`` returns a plain ASCII number string
("18", "-3", "2.5", "1234") or None. The words come from the language packs (the MGSM family passes the
``answer``, ``final_answer`` and ``answer_is`` literals of the language and of English), so a pack edit changes
prompt and extraction together. The rules, each with golden cases in ``tests/tasks/test_answers.py``:

Where the answer is (the first rule that finds a number wins):

1. After the LAST answer prefix that has a number after it: one of the answer words followed by a
   colon (``Antwort:``, ``Réponse :``, ``คำตอบ:``, also ``**Antwort:**``, ``Final Answer:``,
   ``Respuesta final:``), the English ``Answer:`` in every language. The
   first number after it is taken ("Answer: 18 (= 9 × 2)" is 18), unless the prefix's line is a
   calculation: then the first number after its last ``=`` ("Answer: 9 × 2 = 18" is 18).
2. Else a number right after a phrase such as "the answer is", "Die Antwort ist", "คำตอบคือ"
   (only spaces, a colon, ``**`` or a currency sign between): the last such phrase.
3. Else the LAST number in the text: the final answer, not one recited from the question.

How a number is read:

- Thai (๐-๙) and Devanagari (०-९) digits become ASCII, also mixed in one text; ``−`` (U+2212) is a
  minus. A ``-`` is a sign only when no letter or digit is glued before it ("10-3" is 10 and 3).
- Numbers are whole digit runs: "25" never yields "5"; "3x" and "18€" yield 3 and 18; units, ``%``,
  currency and a trailing full stop or danda stay outside the number ("42." is 42).
- Separators inside a number: ``.`` ``,`` ``'`` ``’`` and the no-break / narrow no-break / thin spaces
  (U+00A0, U+202F, U+2009); a plain space too where the language groups with spaces (fr).
- Which separator is decimal: with two kinds of separator, the last one ("1,234.5" and "1.234,5"
  are 1234.5 in every language). With one ``.`` or ``,`` followed by 1-2 or 4+ digits: decimal,
  in any language ("2.5" in German and "2,5" in English are 2.5). Followed by exactly 3 digits: a
  thousands group unless it is the language's decimal separator ("1.234" is 1234 in de fr it pt es
  and 1.234 in en hi th; "1,234" the other way round) -- and unless the number cannot be grouped
  (a first group of 4+ digits or one starting with 0: "0.500" is 0.5). A repeated separator, a
  space or an apostrophe groups thousands ("1.000.000", "1 234", "1'234"); Indian grouping
  ("1,00,000") is accepted. A number whose separators fit none of this is read as its digit runs.
- Normal form: no leading zeros, no trailing decimal zeros, no "-0" ("018" 18, "2.50" 2.5, "18.0" 18).

No number anywhere (empty text, words only, a bare "Answer:") gives None.
"""

from __future__ import annotations

import re
from functools import lru_cache

from harness.core.errors import OctoglotError
from harness.core.languages import LANGUAGES, Language, get_language

_NATIVE_DIGITS = {ord(d): str(i) for lang in LANGUAGES.values() for i, d in enumerate(lang.digits)}
_TO_ASCII = {**_NATIVE_DIGITS, ord("\u2212"): "-"}
_SPACES = "\u00a0\u202f\u2009"  # no-break, narrow no-break, thin space: only ever thousands groups


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)


def number_pattern(code: str) -> str:
    """The regular expression of one number token in language ``code`` (sign, digit runs, separators)."""
    seps = ".,'’" + _SPACES + (" " if LANGUAGES[code].thousands_separator.isspace() else "")
    return rf"(?:(?<!\w)-)?(?<![0-9])[0-9]+(?:[{seps}][0-9]+)*"


@lru_cache(maxsize=64)
def _patterns(code: str, words: tuple[str, ...], phrases: tuple[str, ...]) -> tuple:
    number = number_pattern(code)
    longest_first = tuple(sorted(set(words), key=len, reverse=True))
    prefix = re.compile(rf"(?:{_alternation(longest_first)})\**\s*[:：]", re.IGNORECASE) if words else None
    phrase = re.compile(rf"(?:{_alternation(tuple(sorted(set(phrases), key=len, reverse=True)))})[\s:：*$€£₹฿]*"
                        rf"(?={number})", re.IGNORECASE) if phrases else None
    return prefix, phrase, re.compile(number)
_CALCULATION = re.compile(r"\W*[0-9][0-9.,]*\s*[-+*/×x÷·]")  # "9 × 2 = 18", "$9 * 2 = $18"


def extract_number(text: str, lang: str, *, answer_words: tuple[str, ...] = (),
                   answer_phrases: tuple[str, ...] = ()) -> str | None:
    """The final numeric answer in ``text`` as a normalized ASCII string, or None (rules: module docstring).

    ``answer_words`` are the words for "Answer" that may stand before a colon (the pack's ``answer`` and
    ``final_answer`` literals, of the language and of English); ``answer_phrases`` the "the answer is" phrases
    (the pack's ``answer_is``). Without them only rule 3 applies. Raises OctoglotError for a language octoglot
    does not cover.
    """
    try:
        language = get_language(lang)
    except OctoglotError as exc:
        raise OctoglotError(f"extract_number: {exc}") from None
    prefix, phrase, number = _patterns(language.code, tuple(answer_words), tuple(answer_phrases))
    text = text.translate(_TO_ASCII)

    def numbers(span: str) -> list[str]:
        return [value for token in number.findall(span) for value in _read(token, language)]

    for match in (reversed(list(prefix.finditer(text))) if prefix else ()):
        rest = text[match.end():]
        line = rest.lstrip().split("\n", 1)[0]
        equation = "=" in line and _CALCULATION.match(line)
        found = (numbers(line.rsplit("=", 1)[1]) if equation else []) or numbers(rest)
        if found:
            return found[0]
    phrases = list(phrase.finditer(text)) if phrase else []
    if phrases:  # the lookahead in the pattern guarantees a number right after the phrase
        return numbers(text[phrases[-1].end():])[0]
    found = numbers(text)
    return found[-1] if found else None


def _read(token: str, lang: Language) -> list[str]:
    """One number token (sign, digit runs, separators) as normalized numbers: one, or its digit runs."""
    sign, body = ("-", token[1:]) if token.startswith("-") else ("", token)
    runs, seps = re.split(r"[^0-9]", body), re.findall(r"[^0-9]", body)
    if not seps:
        return [_normal(sign, body, "")]
    last = seps[-1]
    if last in ".," and seps.count(last) == 1:
        if len(seps) == 1:
            is_group = len(runs[1]) == 3 and last != lang.decimal_separator and _grouped(runs)
            return [_normal(sign, "".join(runs), "")] if is_group else [_normal(sign, runs[0], runs[1])]
        if len(set(seps[:-1])) == 1 and _grouped(runs[:-1]):
            return [_normal(sign, "".join(runs[:-1]), runs[-1])]
    elif len(set(seps)) == 1 and _grouped(runs):
        return [_normal(sign, "".join(runs), "")]
    return [_normal(sign if i == 0 else "", run, "") for i, run in enumerate(runs)]


def _grouped(runs: list[str]) -> bool:
    """Digit runs of a thousands-grouped integer: 1-3 digits (no leading 0), then 3s (2s allowed inside: lakh)."""
    first, *middle, last = runs
    return (1 <= len(first) <= 3 and not first.startswith("0") and len(last) == 3
            and all(len(run) in (2, 3) for run in middle))


def _normal(sign: str, whole: str, fraction: str) -> str:
    fraction = fraction.rstrip("0")
    value = (whole.lstrip("0") or "0") + (f".{fraction}" if fraction else "")
    return f"{sign}{value}" if sign and value != "0" else value
