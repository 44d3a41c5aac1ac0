"""IFEval's verifiable instructions, judged in the language of the response.

``checker(instruction_id, kwargs, lang=..., prompt=..., literals=...)`` returns a function ``response -> bool``
(True: the instruction was followed). Instruction ids are IFEval's (``keywords:frequency``); M-IFEval's carry a
language prefix (``fr:keywords:frequency``, ``es:special_character:enie``), which is dropped.

What is language-neutral comes from lm-eval's own IFEval classes (``lm_eval.tasks.ifeval.instructions``, imported
with NLTK's download switched off: that module asks the network for punkt at import, which is never needed for the
classes used here): JSON format, bullet lists, highlighted and titled sections, titles, placeholders, postscripts,
repeating the prompt, two responses, the end phrase, the ``***`` paragraph count. No commas (also the full-width
``，``) and the letter frequency (case-folded, any script: Thai prompts ask for Thai letters) are counted here.

What depends on the language is judged here, with ``harness.tasks.text_units``:

- words (``length_constraints:number_words``): letters, marks and digits runs; Thai by PyThaiNLP's segmenter.
  lm-eval counts ``\\w+``, which splits a Hindi word at every vowel sign and counts an unspaced Thai paragraph as
  one word;
- sentences (``length_constraints:number_sentences``): a splitter that knows the language (the danda for Hindi,
  PyThaiNLP for Thai), not English punkt;
- keyword frequency, existence and forbidden words: whole-word occurrences by the same word rules (``\\b`` fails after a
  Devanagari vowel sign, and Thai has no spaces to find);
- the first word of the n-th paragraph (paragraphs separated by a blank line): the first word by the same rules;
- the response language (``language:response_language``): octoglot's seeded detector (lm-eval's is unseeded);
- case (``change_case:*``): English capital/lowercase need an answer in English and all upper/lower case (the
  Marco-Bench-MIF prompts that carry them ask for English); French and Spanish ones (M-IFEval) the same in
  French/Spanish; the number of all-capital words by the same word rules. Scripts without case (Devanagari,
  Thai) have no capital words: such an instruction can only be followed in a cased answer;
- constrained responses: one of the pack's ``constrained_answers`` phrases ("My answer is yes", "Meine Antwort
  ist ja", ...; the prompts quote them in the target language, lm-eval looks for the English ones only);
- quotation: the response wrapped in one of the pack's ``double_quotes`` pairs ("…", “…”, „…“, «…»).

Relations: IFEval's ``at least`` (>=) and ``less than`` (<), M-IFEval's ``al menos``/``au moins`` (>=) and
``como máximo``/``au plus`` (<=).

M-IFEval's own instructions (French: no accents, forbidden character, informal address, no digits, added accents;
Spanish: ñ, ü and tilde words, questions, exclamations) follow its checkers (lightblue-tech/M-IFEval, commit
0bc3143), with this module's word rules.
"""

from __future__ import annotations

import contextlib
import io
import re
import unicodedata
from functools import cache
from typing import Callable, Mapping

from harness.core import langid
from harness.core.errors import OctoglotError
from harness.tasks import text_units

Check = Callable[[str], bool]

AT_LEAST = {"at least", "al menos", "au moins", "almeno", "pelo menos"}
LESS_THAN = {"less than", "menos de", "moins de"}
AT_MOST = {"como máximo", "au plus", "at most"}


def compare(count: int, relation: str, n: int) -> bool:
    """``count`` against ``n`` by an IFEval / M-IFEval relation word (module docstring)."""
    relation = str(relation).strip().lower()
    if relation in AT_LEAST:
        return count >= n
    if relation in LESS_THAN:
        return count < n
    if relation in AT_MOST:
        return count <= n
    raise OctoglotError(f"instruction relation '{relation}': expected one of "
                        f"{', '.join(sorted(AT_LEAST | LESS_THAN | AT_MOST))}")


@cache
def _lm_eval_instructions():
    """lm-eval's IFEval classes, imported without letting NLTK reach for the network."""
    import nltk

    download = nltk.download
    nltk.download = lambda *args, **kwargs: False  # the classes used here never need punkt
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Downloaded punkt_tab" whatever happened
            from lm_eval.tasks.ifeval import instructions
    finally:
        nltk.download = download
    return instructions


def _lm_eval(name: str, **kwargs) -> Check:
    instance = getattr(_lm_eval_instructions(), name)(name)
    instance.build_description(**kwargs)
    return instance.check_following


def _paragraphs_blank_line(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text)]


def _without_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def checker(instruction_id: str, kwargs: Mapping | None, *, lang: str, prompt: str,
            literals: Mapping[str, object]) -> Check:
    """The check of one instruction (module docstring); an unknown id is a one-line error."""
    kwargs = {k: v for k, v in (kwargs or {}).items() if v is not None}
    base = instruction_id.split(":", 1)[1] if instruction_id[:3] in ("en:", "fr:", "es:", "ja:") else instruction_id
    build = CHECKERS.get(base)
    if build is None:
        raise OctoglotError(f"instruction '{instruction_id}': no checker for it (known: {', '.join(sorted(CHECKERS))})")
    return build(kwargs, lang, prompt, literals)


# ------------------------------------------------------------------------------------------ language-neutral

def _json_format(kw, lang, prompt, lit) -> Check:
    return _lm_eval("JsonFormat")


def _bullets(kw, lang, prompt, lit) -> Check:
    return _lm_eval("BulletListChecker", num_bullets=kw["num_bullets"])


def _highlights(kw, lang, prompt, lit) -> Check:
    relation = kw.get("relation", "at least")
    if str(relation).lower() in AT_LEAST:  # lm-eval's checker counts "at least"
        return _lm_eval("HighlightSectionChecker", num_highlights=kw["num_highlights"])
    count = _lm_eval_count(r"\*[^\n\*]*\*")
    return lambda text: compare(count(text), relation, kw["num_highlights"])


def _lm_eval_count(pattern: str) -> Callable[[str], int]:
    return lambda text: sum(1 for m in re.findall(pattern, text) if m.strip("*").strip())


def _sections(kw, lang, prompt, lit) -> Check:
    relation = kw.get("relation", "at least")
    if str(relation).lower() in AT_LEAST:
        return _lm_eval("SectionChecker", section_spliter=kw["section_spliter"], num_sections=kw["num_sections"])

    def check(text: str) -> bool:
        parts = re.split(r"\s?" + re.escape(kw["section_spliter"]) + r"\s?\d+\s?", text)
        return compare(len(parts) - 1, relation, kw["num_sections"])
    return check


def _placeholders(kw, lang, prompt, lit) -> Check:
    relation = kw.get("relation", "at least")
    if str(relation).lower() in AT_LEAST:
        return _lm_eval("PlaceholderChecker", num_placeholders=kw["num_placeholders"])
    return lambda text: compare(len(re.findall(r"\[.*?\]", text)), relation, kw["num_placeholders"])


def _title(kw, lang, prompt, lit) -> Check:
    if "##" in prompt and "<<" not in prompt:  # M-IFEval French: ##title## (<< >> is too close to « »)
        return lambda text: any(t.strip("#").strip() for t in re.findall(r"##[^\n]+?##", text))
    return _lm_eval("TitleChecker")


def _postscript(kw, lang, prompt, lit) -> Check:
    return _lm_eval("PostscriptChecker", postscript_marker=kw["postscript_marker"])


def _repeat_prompt(kw, lang, prompt, lit) -> Check:
    return _lm_eval("RepeatPromptThenAnswer", prompt_to_repeat=kw["prompt_to_repeat"])


def _two_responses(kw, lang, prompt, lit) -> Check:
    return _lm_eval("TwoResponsesChecker")


def _end_checker(kw, lang, prompt, lit) -> Check:
    return _lm_eval("EndChecker", end_phrase=kw["end_phrase"])


def _no_comma(kw, lang, prompt, lit) -> Check:
    return lambda text: "," not in text and "，" not in text


def _letter_frequency(kw, lang, prompt, lit) -> Check:
    letter, n = str(kw["letter"]).lower(), kw["let_frequency"]
    return lambda text: compare(text.lower().count(letter), kw["let_relation"], n)


def _keyword_existence(kw, lang, prompt, lit) -> Check:
    return lambda text: all(text_units.keyword_count(text, k, lang) > 0 for k in kw["keywords"])


def _paragraphs(kw, lang, prompt, lit) -> Check:
    return _lm_eval("ParagraphChecker", num_paragraphs=kw["num_paragraphs"])


# ------------------------------------------------------------------------------------------ by language

def _number_words(kw, lang, prompt, lit) -> Check:
    return lambda text: compare(text_units.count_words(text, lang), kw["relation"], kw["num_words"])


def _number_sentences(kw, lang, prompt, lit) -> Check:
    return lambda text: compare(text_units.count_sentences(text, lang), kw["relation"], kw["num_sentences"])


def _keyword_frequency(kw, lang, prompt, lit) -> Check:
    return lambda text: compare(text_units.keyword_count(text, kw["keyword"], lang), kw["relation"], kw["frequency"])


def _forbidden_words(kw, lang, prompt, lit) -> Check:
    return lambda text: all(text_units.keyword_count(text, w, lang) == 0 for w in kw["forbidden_words"])


def _nth_paragraph_first_word(kw, lang, prompt, lit) -> Check:
    """IFEval: exactly ``num_paragraphs`` paragraphs separated by a blank line, and paragraph ``nth_paragraph``
    (1-based) starts with ``first_word`` (compared lowercased, by the language's word rules)."""
    want = text_units.first_word(str(kw["first_word"]), lang)

    def check(text: str) -> bool:
        paragraphs = [p for p in _paragraphs_blank_line(text) if p.strip()]
        if len(paragraphs) != kw["num_paragraphs"] or kw["nth_paragraph"] > len(paragraphs):
            return False
        return text_units.first_word(paragraphs[kw["nth_paragraph"] - 1], lang) == want
    return check


def _response_language(kw, lang, prompt, lit) -> Check:
    want = kw.get("language") or lang
    return lambda text: langid.detect(text) == want


def _case_in(target_lang: str, upper: bool) -> Callable:
    def build(kw, lang, prompt, lit) -> Check:
        def check(text: str) -> bool:
            cased = text.isupper() if upper else text.islower()
            return cased and langid.detect(text.lower()) == target_lang
        return check
    return build


def _capital_word_frequency(kw, lang, prompt, lit) -> Check:
    def check(text: str) -> bool:
        capitals = [w for w in text_units.words(text, lang) if w.isupper()]
        return compare(len(capitals), kw["capital_relation"], kw["capital_frequency"])
    return check


def _constrained_response(kw, lang, prompt, lit) -> Check:
    phrases = [str(p).lower().rstrip(".") for p in lit["constrained_answers"]]
    return lambda text: any(p in text.lower() for p in phrases)


def _quotation(kw, lang, prompt, lit) -> Check:
    pairs = [(str(p)[0], str(p)[1:]) for p in lit["double_quotes"]]

    def check(text: str) -> bool:
        text = text.strip()
        return len(text) > 1 and any(text.startswith(o) and text.endswith(c) for o, c in pairs)
    return check


# ------------------------------------------------------------------------------------------ M-IFEval (fr, es)

def _no_accents(kw, lang, prompt, lit) -> Check:
    return lambda text: _without_accents(text) == text


def _forbidden_char(kw, lang, prompt, lit) -> Check:
    char = str(kw["forbidden_char"]).lower()
    return lambda text: char not in text.lower()


def _informal_address(kw, lang, prompt, lit) -> Check:
    pattern = re.compile(r"(?<!\w)(tu|te|toi|ton|ta|tes|t')(?!\w)", re.IGNORECASE)
    return lambda text: pattern.search(text.replace("’", "'")) is not None


def _no_digits(kw, lang, prompt, lit) -> Check:
    return lambda text: not any(ch.isdigit() for ch in text)


def _accents(kw, lang, prompt, lit) -> Check:
    """Every word of the response that is one of the target words without its accents must carry them."""
    targets = {str(k).lower(): str(v).lower() for k, v in dict(kw["word_to_accentuate"]).items()}

    def check(text: str) -> bool:
        for word in text_units.words(text.lower(), lang):
            bare = _without_accents(word)
            if bare in targets and word != targets[bare]:
                return False
        return True
    return check


def _words_with(letters: str) -> Callable:
    def build(kw, lang, prompt, lit) -> Check:
        def check(text: str) -> bool:
            count = sum(1 for w in text_units.words(text, lang) if any(ch in letters for ch in w.lower()))
            if "relation" in kw:
                return compare(count, kw["relation"], kw["num_words"])
            return count == kw["let_frequency"]
        return check
    return build


def _marked(opening: str, closing: str) -> Callable:
    def build(kw, lang, prompt, lit) -> Check:
        pattern = re.compile(re.escape(opening) + r"[^" + re.escape(closing) + r"]*" + re.escape(closing))
        return lambda text: any(m[1:-1].strip() for m in pattern.findall(text))
    return build


CHECKERS: dict[str, Callable] = {
    "detectable_format:json_format": _json_format,
    "detectable_format:number_bullet_lists": _bullets,
    "detectable_format:number_highlighted_sections": _highlights,
    "detectable_format:multiple_sections": _sections,
    "detectable_format:title": _title,
    "detectable_format:constrained_response": _constrained_response,
    "detectable_content:number_placeholders": _placeholders,
    "detectable_content:postscript": _postscript,
    "combination:repeat_prompt": _repeat_prompt,
    "combination:two_responses": _two_responses,
    "startend:end_checker": _end_checker,
    "startend:quotation": _quotation,
    "punctuation:no_comma": _no_comma,
    "keywords:existence": _keyword_existence,
    "keywords:frequency": _keyword_frequency,
    "keywords:forbidden_words": _forbidden_words,
    "keywords:letter_frequency": _letter_frequency,
    "length_constraints:number_words": _number_words,
    "length_constraints:number_sentences": _number_sentences,
    "length_constraints:number_paragraphs": _paragraphs,
    "length_constraints:nth_paragraph_first_word": _nth_paragraph_first_word,
    "language:response_language": _response_language,
    "change_case:english_capital": _case_in("en", upper=True),
    "change_case:english_lowercase": _case_in("en", upper=False),
    "change_case:french_capital": _case_in("fr", upper=True),
    "change_case:french_lowercase": _case_in("fr", upper=False),
    "change_case:spanish_capital": _case_in("es", upper=True),
    "change_case:spanish_lowercase": _case_in("es", upper=False),
    "change_case:capital_word_frequency": _capital_word_frequency,
    # M-IFEval, French
    "special_character:no_accents": _no_accents,
    "special_character:ethel_or_cedilla": _forbidden_char,
    "special_character:accents": _accents,
    "detectable_content:informal_address": _informal_address,
    "detectable_content:no_digits": _no_digits,
    # M-IFEval, Spanish
    "special_character:enie": _words_with("ñ"),
    "special_character:dieresis": _words_with("ü"),
    "special_character:tildes": _words_with("áéíóú"),
    "punctuation:question_marks": _marked("¿", "?"),
    "punctuation:exclamation_marks": _marked("¡", "!"),
}


THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def visible(response: str) -> str:
    """The response without reasoning blocks (``<think>…</think>``; an unclosed one hides the rest)."""
    text = THINK.sub("", response)
    if "<think>" in text.lower():
        text = text[:text.lower().index("<think>")]
    return text.strip()


def loose_variants(response: str) -> list[str]:
    """IFEval's loose reading: the response as it is, without its first line, without its last, without both, and
    each of these without ``*`` (markdown emphasis); empty variants are dropped."""
    lines = response.split("\n")
    cut = ["\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    variants = [response, *cut, response.replace("*", ""), *(c.replace("*", "") for c in cut)]
    return [v for v in variants if v.strip()]


def judge(checks: list[Check], response: str) -> tuple[list[bool], list[bool]]:
    """Strict and loose verdicts of every instruction for one response (IFEval: an empty response follows
    nothing). A loose reading is tried only where the strict one failed (the response itself is the first
    variant), and each distinct variant once."""
    text = visible(response)
    strict = [bool(text.strip()) and check(text) for check in checks]
    variants = list(dict.fromkeys(loose_variants(text)))[1:] if text.strip() else []
    loose = [s or any(check(v) for v in variants) for check, s in zip(checks, strict)]
    return strict, loose

