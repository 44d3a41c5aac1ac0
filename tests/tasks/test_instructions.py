"""Golden cases of the instruction checkers: (instruction, language, kwargs, response, followed?) rows, a true and a
false case per language for every checker that depends on the language, Thai and Hindi counted by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO
from harness.core.errors import OctoglotError
from harness.tasks import instructions, packs

LANGS = ("en", "de", "fr", "it", "pt", "hi", "es", "th")


def literals(lang: str) -> dict:
    pack = packs.load_pack("en" if lang == "hi" else lang)  # Hindi has no instruction task in its pack yet
    return {name: pack.literals[name] for name in ("constrained_answers", "double_quotes")}


def followed(instruction: str, lang: str, kwargs: dict, response: str, prompt: str = "") -> bool:
    check = instructions.checker(instruction, kwargs, lang=lang, prompt=prompt, literals=literals(lang))
    return check(response)


WORDS = "length_constraints:number_words"
SENTENCES = "length_constraints:number_sentences"
FREQUENCY = "keywords:frequency"
FORBIDDEN = "keywords:forbidden_words"
FIRST = "length_constraints:nth_paragraph_first_word"

GOLDEN = [
    # words: letters, marks and digits; Thai by segmentation
    (WORDS, "en", {"relation": "at least", "num_words": 6}, "The cat sat on the mat.", True),
    (WORDS, "en", {"relation": "less than", "num_words": 6}, "The cat sat on the mat.", False),
    (WORDS, "de", {"relation": "at least", "num_words": 4}, "Die Katze schläft heute.", True),
    (WORDS, "de", {"relation": "at least", "num_words": 5}, "Die Katze schläft heute.", False),
    (WORDS, "fr", {"relation": "less than", "num_words": 5}, "Le chat dort ici.", True),
    (WORDS, "fr", {"relation": "less than", "num_words": 4}, "Le chat dort ici.", False),
    (WORDS, "it", {"relation": "at least", "num_words": 3}, "Il gatto dorme.", True),
    (WORDS, "it", {"relation": "at least", "num_words": 4}, "Il gatto dorme.", False),
    (WORDS, "pt", {"relation": "at least", "num_words": 4}, "O gato dorme aqui.", True),
    (WORDS, "pt", {"relation": "less than", "num_words": 4}, "O gato dorme aqui.", False),
    (WORDS, "es", {"relation": "at least", "num_words": 4}, "El gato duerme aquí.", True),
    (WORDS, "es", {"relation": "at least", "num_words": 5}, "El gato duerme aquí.", False),
    # Hindi, 5 words: मैं | आज | बाज़ार | जाऊँगा | अभी (\w+ would count 9: it splits at vowel signs)
    (WORDS, "hi", {"relation": "less than", "num_words": 6}, "मैं आज बाज़ार जाऊँगा अभी", True),
    (WORDS, "hi", {"relation": "at least", "num_words": 6}, "मैं आज बाज़ार जाऊँगा अभी", False),
    # Thai, no spaces: แมว | กิน | ปลา | แมว | นอน (cat eats fish, cat sleeps): 5 words, 2 by whitespace. (The
    # segmenter follows its dictionary: a compound such as กินข้าว, "to have a meal", is one word there.)
    (WORDS, "th", {"relation": "at least", "num_words": 5}, "แมวกินปลา แมวนอน", True),
    (WORDS, "th", {"relation": "at least", "num_words": 6}, "แมวกินปลา แมวนอน", False),
    # sentences: by the language's own rules
    (SENTENCES, "en", {"relation": "less than", "num_sentences": 3}, "Dr. Smith came home. He slept.", True),
    (SENTENCES, "en", {"relation": "at least", "num_sentences": 3}, "Dr. Smith came home. He slept.", False),
    (SENTENCES, "de", {"relation": "less than", "num_sentences": 3}, "Dr. Müller kam um 8 Uhr. Er schlief.", True),
    (SENTENCES, "de", {"relation": "at least", "num_sentences": 3}, "Dr. Müller kam um 8 Uhr. Er schlief.", False),
    (SENTENCES, "pt", {"relation": "less than", "num_sentences": 3}, "O Sr. Silva chegou. Ele sorriu.", True),
    (SENTENCES, "pt", {"relation": "at least", "num_sentences": 3}, "O Sr. Silva chegou. Ele sorriu.", False),
    # Hindi: two sentences ended by the danda
    (SENTENCES, "hi", {"relation": "at least", "num_sentences": 2}, "यह एक वाक्य है। यह दूसरा वाक्य है।", True),
    (SENTENCES, "hi", {"relation": "at least", "num_sentences": 3}, "यह एक वाक्य है। यह दूसरा वाक्य है।", False),
    # keyword frequency, whole words by the language's word rules
    (FREQUENCY, "en", {"relation": "at least", "keyword": "test", "frequency": 2}, "A test, another TEST.", True),
    (FREQUENCY, "en", {"relation": "at least", "keyword": "test", "frequency": 2}, "A test while testing.", False),
    (FREQUENCY, "de", {"relation": "less than", "keyword": "Katze", "frequency": 2}, "Die Katze und die Katzen.", True),
    (FREQUENCY, "de", {"relation": "less than", "keyword": "Katze", "frequency": 2}, "Katze hier, Katze da.", False),
    # Hindi: भारत twice; \b after the vowel sign of "बाज़ार" / "भारती" must not count
    (FREQUENCY, "hi", {"relation": "at least", "keyword": "भारत", "frequency": 2}, "भारत महान है। मुझे भारत पसंद है।",
     True),
    (FREQUENCY, "hi", {"relation": "at least", "keyword": "भारत", "frequency": 2}, "भारत महान है। भारती आई।", False),
    # Thai: แมว (cat) twice in แมว|กิน|ปลา แมว|นอน
    (FREQUENCY, "th", {"relation": "at least", "keyword": "แมว", "frequency": 2}, "แมวกินปลา แมวนอน", True),
    (FREQUENCY, "th", {"relation": "at least", "keyword": "แมว", "frequency": 3}, "แมวกินปลา แมวนอน", False),
    (FORBIDDEN, "fr", {"forbidden_words": ["chien"]}, "Le chat dort, les chiennes aussi.", True),
    (FORBIDDEN, "fr", {"forbidden_words": ["chien"]}, "Le chien dort.", False),
    (FORBIDDEN, "hi", {"forbidden_words": ["कुत्ता"]}, "बिल्ली सो रही है।", True),
    (FORBIDDEN, "hi", {"forbidden_words": ["कुत्ता"]}, "कुत्ता सो रहा है।", False),
    # the first word of the n-th paragraph (paragraphs separated by a blank line)
    (FIRST, "en", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"}, "First part.\n\nThen, more.", True),
    (FIRST, "en", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"}, "First part.\n\nAnd then.", False),
    (FIRST, "hi", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "फिर"}, "पहला भाग।\n\nफिर दूसरा भाग।", True),
    (FIRST, "hi", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "फिर"}, "पहला भाग।\n\nदूसरा फिर।", False),
    (FIRST, "th", {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "แมว"}, "แมวกินปลา\n\nหมานอน", True),
    (FIRST, "th", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "แมว"}, "แมวกินปลา\n\nหมานอน", False),
    # the response language: octoglot's seeded detector
    ("language:response_language", "de", {"language": "de"},
     "Die Katze schläft auf dem Sofa, und draußen regnet es seit dem frühen Morgen.", True),
    ("language:response_language", "de", {"language": "de"},
     "The cat sleeps on the sofa, and it has been raining since early morning.", False),
    ("language:response_language", "th", {"language": "th"}, "แมวนอนอยู่บนโซฟาและฝนตกตั้งแต่เช้า", True),
    ("language:response_language", "hi", {"language": "hi"}, "The cat is sleeping on the sofa right now.", False),
    # case: in English and all upper / lower case; capital words by the word rules
    ("change_case:english_capital", "th", {}, "THE CAT SLEEPS ON THE SOFA ALL DAY LONG.", True),
    ("change_case:english_capital", "th", {}, "The cat sleeps on the sofa all day long.", False),
    ("change_case:english_lowercase", "de", {}, "the cat sleeps on the sofa all day long.", True),
    ("change_case:english_lowercase", "de", {}, "die katze schläft den ganzen tag auf dem sofa.", False),
    ("change_case:capital_word_frequency", "fr", {"capital_relation": "at least", "capital_frequency": 2},
     "Le CHAT et le CHIEN dorment.", True),
    ("change_case:capital_word_frequency", "fr", {"capital_relation": "at least", "capital_frequency": 2},
     "Le CHAT dort.", False),
    # constrained responses: the phrases the prompt quotes in the language (the pack's constrained_answers)
    ("detectable_format:constrained_response", "de", {}, "Meine Antwort ist ja.", True),
    ("detectable_format:constrained_response", "de", {}, "My answer is yes.", False),
    ("detectable_format:constrained_response", "fr", {}, "Ma réponse est peut-être", True),
    ("detectable_format:constrained_response", "th", {}, "คำตอบของฉันคือไม่", True),
    ("detectable_format:constrained_response", "th", {}, "ไม่", False),
    # quotation: the language's double quotation marks
    ("startend:quotation", "de", {}, "„Das ist alles.“", True),
    ("startend:quotation", "de", {}, "Das ist „alles“.", False),
    ("startend:quotation", "fr", {}, "« C'est tout. »", True),
    ("startend:quotation", "en", {}, "“That is all.”", True),
    ("startend:quotation", "en", {}, "That is all.", False),
]


@pytest.mark.parametrize("instruction, lang, kwargs, response, expected", GOLDEN)
def test_golden(instruction, lang, kwargs, response, expected):
    assert followed(instruction, lang, kwargs, response) is expected


def test_every_language_dependent_checker_has_a_true_and_a_false_case_in_hindi_and_thai():
    for instruction in (WORDS, FREQUENCY, FIRST):
        for lang in ("hi", "th"):
            verdicts = {row[4] for row in GOLDEN if row[0] == instruction and row[1] == lang}
            assert verdicts == {True, False}, (instruction, lang)


M_IFEVAL = [
    ("fr:special_character:no_accents", "fr", {}, "Le chat dort dans la maison", True),
    ("fr:special_character:no_accents", "fr", {}, "Le chat a mangé", False),
    ("fr:special_character:ethel_or_cedilla", "fr", {"forbidden_char": "ç"}, "Le garcon", True),
    ("fr:special_character:ethel_or_cedilla", "fr", {"forbidden_char": "œ"}, "Un CŒUR", False),
    ("fr:detectable_content:informal_address", "fr", {}, "Je pense que tu as raison.", True),
    ("fr:detectable_content:informal_address", "fr", {}, "Je pense que vous avez raison.", False),
    ("fr:detectable_content:no_digits", "fr", {}, "Il a vingt ans.", True),
    ("fr:detectable_content:no_digits", "fr", {}, "Il a 20 ans.", False),
    ("fr:special_character:accents", "fr", {"word_to_accentuate": {"lecons": "leçons"}}, "Les leçons.", True),
    ("fr:special_character:accents", "fr", {"word_to_accentuate": {"lecons": "leçons"}}, "Les lecons.", False),
    ("es:special_character:enie", "es", {"let_frequency": 2}, "El niño y la niña.", True),
    ("es:special_character:enie", "es", {"let_frequency": 2}, "El niño juega.", False),
    ("es:special_character:dieresis", "es", {"let_frequency": 1}, "La cigüeña vuela.", True),
    ("es:special_character:tildes", "es", {"relation": "al menos", "num_words": 2}, "Él está aquí.", True),
    ("es:special_character:tildes", "es", {"relation": "como máximo", "num_words": 1}, "Él está aquí.", False),
    ("es:punctuation:question_marks", "es", {}, "Hola. ¿Cómo estás?", True),
    ("es:punctuation:question_marks", "es", {}, "Hola. Cómo estás?", False),
    ("es:punctuation:exclamation_marks", "es", {}, "¡Qué bien!", True),
    ("es:punctuation:exclamation_marks", "es", {}, "Qué bien!", False),
    ("es:keywords:frequency", "es", {"relation": "como máximo", "keyword": "éxito", "frequency": 1}, "Un éxito.", True),
    ("es:keywords:frequency", "es", {"relation": "como máximo", "keyword": "éxito", "frequency": 1},
     "Éxito y éxito.", False),
    ("es:detectable_format:multiple_sections", "es",
     {"relation": "al menos", "section_spliter": "SECCIÓN", "num_sections": 2}, "SECCIÓN 1\na\nSECCIÓN 2\nb", True),
    ("fr:detectable_format:title", "fr", {}, "##Mon titre##\nTexte", True),
    ("es:change_case:spanish_capital", "es", {}, "EL GATO DUERME EN EL SOFÁ TODO EL DÍA Y TODA LA NOCHE.", True),
    ("es:change_case:spanish_capital", "es", {}, "el gato duerme en el sofá todo el día y toda la noche.", False),
]


@pytest.mark.parametrize("instruction, lang, kwargs, response, expected", M_IFEVAL)
def test_m_ifeval(instruction, lang, kwargs, response, expected):
    prompt = "Écrivez un titre entouré de ##, par exemple ##titre##." if "title" in instruction else ""
    assert followed(instruction, lang, kwargs, response, prompt) is expected


@pytest.mark.parametrize("relation, count, n, expected", [
    ("at least", 3, 3, True), ("less than", 3, 3, False), ("al menos", 2, 3, False), ("como máximo", 3, 3, True),
    ("au moins", 4, 3, True),
])
def test_relations(relation, count, n, expected):
    assert instructions.compare(count, relation, n) is expected


def test_unknown_instruction_and_relation_are_one_line_errors():
    with pytest.raises(OctoglotError, match="instruction 'keywords:frequencies': no checker"):
        instructions.checker("keywords:frequencies", {}, lang="en", prompt="", literals=literals("en"))
    with pytest.raises(OctoglotError, match="instruction relation 'roughly'"):
        instructions.compare(1, "roughly", 2)


def test_loose_variants_and_think_blocks():
    check = instructions.checker("startend:end_checker", {"end_phrase": "Is there anything else?"}, lang="en",
                                 prompt="", literals=literals("en"))
    response = "Sure!\nThe answer.\nIs there anything else?\n**Note**"
    strict, loose = instructions.judge([check], response)
    assert strict == [False] and loose == [True]  # the last line removed
    assert instructions.visible("<think>plan</think>\nHello") == "Hello"
    assert instructions.visible("Hello <think>unfinished") == "Hello"
    assert instructions.judge([check], "") == ([False], [False])


def test_checkers_never_reach_for_the_network():
    """lm-eval's IFEval module downloads NLTK's punkt at import; building every checker must not try."""
    code = ("import socket\n"
            "def refuse(*a, **k):\n    raise SystemExit('network: ' + repr(a))\n"
            "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
            "from harness.tasks import instructions\n"
            "lit = {'constrained_answers': ['My answer is yes'], 'double_quotes': ['\"\"']}\n"
            "for name in instructions.CHECKERS:\n"
            "    try:\n        instructions.checker(name, {}, lang='en', prompt='', literals=lit)\n"
            "    except KeyError:\n        pass\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout + done.stderr
