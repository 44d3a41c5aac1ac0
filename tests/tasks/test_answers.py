"""Golden cases for harness.tasks.answers.extract_number: (text, lang, expected) rows, negative cases beside
positive ones, at least ten per language, written the way a model answers in that language. The answer words
are the packs' (``answer``, ``final_answer``, ``answer_is``, of the language and of English), as MGSM passes them."""

from functools import cache

import pytest

from harness.core.errors import OctoglotError
from harness.core.languages import ALL_CODES
from harness.tasks import packs
from harness.tasks.answers import extract_number as extract_with
from harness.tasks.families.word_problems import EXTRACTION_LITERALS, answer_vocabulary


@cache
def vocabulary(lang: str) -> dict:
    literals = packs.require_literals(packs.load_pack(lang), EXTRACTION_LITERALS, lang, "mgsm")
    literals["english"] = packs.require_literals(packs.load_pack("en"), EXTRACTION_LITERALS, "en", "mgsm")
    return answer_vocabulary(literals)


def extract_number(text: str, lang: str) -> str | None:
    return extract_with(text, lang, **vocabulary(lang))

EN = [
    ("Janet's ducks lay 16 eggs per day. She eats 3 and bakes muffins with 4, so 16 - 3 - 4 = 9 eggs are left. "
     "She sells them for $2 each: 9 * 2 = $18.\nAnswer: 18", "en", "18"),
    ("Answer: 18\n\nShe sells 9 eggs at $2 each.", "en", "18"),  # the prefix wins over the last number
    ("She sells 16 - 3 - 4 = 9 eggs at $2 each, so she makes $18 every day.", "en", "18"),  # no prefix: last
    ("Answer: $1,234", "en", "1234"),
    ("It takes 5 / 2 = 2.5 hours.\nAnswer: 2.5", "en", "2.5"),
    ("Answer: 1,234.5", "en", "1234.5"),
    ("Answer: 1.234", "en", "1.234"),  # the point is English's decimal separator
    ("Answer: 18.00", "en", "18"),
    ("Answer: 018", "en", "18"),
    ("The temperature falls from 3 to 3 - 8 = -5 degrees.\nAnswer: −5", "en", "-5"),
    ("**Answer:** 42", "en", "42"),
    ("Final Answer: 42", "en", "42"),
    ("Answer: 6 × 3 = 18", "en", "18"),  # a calculation: after its last '='
    ("Answer: 18 (= 6 × 3)", "en", "18"),  # not a calculation: the first number
    ("So the answer is 42.", "en", "42"),
    ("There are 25 students in the class.", "en", "25"),  # "25" is not "5"
    ("He walks 3x as far.\nAnswer: 3x", "en", "3"),
    ("Answer: 50%", "en", "50"),
    ("", "en", None),
    ("I'm sorry, but I cannot solve this problem.", "en", None),
    ("Answer:", "en", None),
]

DE = [
    ("Janets Enten legen 16 Eier pro Tag. Sie isst 3 und backt mit 4 Muffins, also bleiben 16 - 3 - 4 = 9 Eier. "
     "Sie verkauft jedes Ei für 2 $: 9 × 2 = 18 $.\nAntwort: 18", "de", "18"),
    ("Antwort: 18\n\nDas sind 9 Eier zu je 2 Dollar.", "de", "18"),
    ("Sie verdient also jeden Tag 18 Dollar.", "de", "18"),
    ("Antwort: 1.234", "de", "1234"),  # thousands group in German
    ("Antwort: 2,5", "de", "2.5"),
    ("Er braucht 5 : 2 = 2.5 Stunden.\nAntwort: 2.5", "de", "2.5"),  # English style, cannot be a group
    ("Antwort: 12,345", "de", "12.345"),  # the comma is German's decimal separator
    ("Antwort: 1.234,5", "de", "1234.5"),
    ("Antwort: 1,234.5", "de", "1234.5"),
    ("Antwort: 1.000.000", "de", "1000000"),
    ("Antwort: 2,50 €", "de", "2.5"),
    ("Antwort: 18€", "de", "18"),
    ("**Antwort:** 42", "de", "42"),
    ("Die Antwort ist 42.", "de", "42"),
    ("Zuerst 16 - 3 - 4 = 9, dann 9 × 2 = 18.\nAnswer: 18", "de", "18"),  # English prefix as fallback
    ("Antwort: −7", "de", "-7"),
    ("Das kann ich leider nicht beantworten.", "de", None),
    ("Antwort:", "de", None),
]

FR = [
    ("Les canes de Janet pondent 16 œufs par jour. Elle en mange 3 et en utilise 4 pour ses muffins, il reste "
     "donc 16 - 3 - 4 = 9 œufs. Elle les vend 2 $ pièce : 9 × 2 = 18 $.\nRéponse : 18", "fr", "18"),
    ("Réponse: 18", "fr", "18"),
    ("Réponse\u00a0: 18", "fr", "18"),  # no-break space before the colon
    ("Réponse : 18\n\nCela fait 9 œufs à 2 dollars.", "fr", "18"),
    ("Elle gagne donc 18 dollars par jour.", "fr", "18"),
    ("Réponse : 1 234", "fr", "1234"),  # plain space
    ("Réponse : 1\u202f234", "fr", "1234"),  # narrow no-break space
    ("Réponse : 1\u00a0234,5", "fr", "1234.5"),
    ("Réponse : 2,5", "fr", "2.5"),
    ("Réponse : 0,125", "fr", "0.125"),
    ("Réponse : 1'234", "fr", "1234"),
    ("Réponse : 15 %", "fr", "15"),
    ("**Réponse :** 42", "fr", "42"),
    ("Réponse finale : 42", "fr", "42"),
    ("La réponse est 42.", "fr", "42"),
    ("Donc 9 × 2 = 18.\nAnswer: 18", "fr", "18"),
    ("Je ne peux pas répondre à cette question.", "fr", None),
    ("Réponse :", "fr", None),
]

IT = [
    ("Le anatre di Janet depongono 16 uova al giorno. Ne mangia 3 e ne usa 4 per i muffin, quindi ne restano "
     "16 - 3 - 4 = 9. Le vende a 2 $ l'una: 9 × 2 = 18 $.\nRisposta: 18", "it", "18"),
    ("Risposta: 18\n\nCioè 9 uova a 2 dollari l'una.", "it", "18"),
    ("Quindi guadagna 18 euro al giorno.", "it", "18"),
    ("Risposta: 1.234", "it", "1234"),
    ("Risposta: 3,75", "it", "3.75"),
    ("Risposta: 2.5", "it", "2.5"),
    ("Risposta: 18 €.", "it", "18"),
    ("Risposta: -12", "it", "-12"),
    ("**Risposta:** 42", "it", "42"),
    ("Risposta finale: 42", "it", "42"),
    ("La risposta è 42.", "it", "42"),
    ("Quindi 9 × 2 = 18.\nAnswer: 18", "it", "18"),
    ("Non posso rispondere a questa domanda.", "it", None),
    ("Risposta:", "it", None),
]

PT = [
    ("Os patos da Janet põem 16 ovos por dia. Ela come 3 e usa 4 para fazer muffins, então sobram "
     "16 - 3 - 4 = 9 ovos. Ela vende cada um por US$ 2, então 9 × 2 = 18.\nResposta: 18", "pt", "18"),
    ("Resposta: 18\n\nSão 9 ovos a 2 dólares cada.", "pt", "18"),
    ("Portanto, ela ganha R$ 18 por dia.", "pt", "18"),
    ("Resposta: R$ 1.234,50", "pt", "1234.5"),
    ("Resposta: 1.500", "pt", "1500"),
    ("Resposta: 0,5", "pt", "0.5"),
    ("Resposta: 2.5", "pt", "2.5"),
    ("Resposta: 12%", "pt", "12"),
    ("**Resposta:** 42", "pt", "42"),
    ("Resposta final: 42", "pt", "42"),
    ("A resposta é 42.", "pt", "42"),
    ("Então 9 × 2 = 18.\nAnswer: 18", "pt", "18"),
    ("Não sei responder a essa pergunta.", "pt", None),
    ("Resposta:", "pt", None),
]

HI = [
    ("जैनेट की बत्तखें प्रतिदिन 16 अंडे देती हैं। वह 3 अंडे खाती है और 4 से मफिन बनाती है, इसलिए "
     "16 - 3 - 4 = 9 अंडे बचते हैं। वह हर अंडा 2 डॉलर में बेचती है: 9 × 2 = 18 डॉलर।\nउत्तर: 18", "hi", "18"),
    ("उत्तर: १८", "hi", "18"),
    ("उत्तर: १८ रुपये।", "hi", "18"),
    ("पहले 16 अंडे थे, उनमें से ३ खा लिए गए।\nउत्तर: १३", "hi", "13"),  # ASCII and Devanagari mixed
    ("इसलिए, वह प्रतिदिन १८ डॉलर कमाती है।", "hi", "18"),
    ("उत्तर: 1,234", "hi", "1234"),
    ("उत्तर: 1,00,000 रुपये", "hi", "100000"),  # lakh grouping
    ("उत्तर: ₹1,234.50", "hi", "1234.5"),
    ("उत्तर: 2.5 घंटे", "hi", "2.5"),
    ("उत्तर: -५", "hi", "-5"),
    ("**उत्तर:** 42", "hi", "42"),
    ("अंतिम उत्तर: 42", "hi", "42"),
    ("इसलिए वह 9 × 2 = 18 डॉलर कमाती है।\nAnswer: 18", "hi", "18"),
    ("मैं इस प्रश्न का उत्तर नहीं दे सकता।", "hi", None),
    ("उत्तर:", "hi", None),
]

ES = [
    ("Los patos de Janet ponen 16 huevos al día. Se come 3 y usa 4 para hacer magdalenas, así que le quedan "
     "16 - 3 - 4 = 9 huevos. Los vende a 2 $ cada uno: 9 × 2 = 18 $.\nRespuesta: 18", "es", "18"),
    ("Respuesta: 18\n\nSon 9 huevos a 2 dólares cada uno.", "es", "18"),
    ("Por lo tanto, gana 18 dólares al día.", "es", "18"),
    ("Respuesta: 1.234", "es", "1234"),
    ("Respuesta: 2,5", "es", "2.5"),
    ("Respuesta: 0,75", "es", "0.75"),
    ("Respuesta: 1.234,56 €", "es", "1234.56"),
    ("Respuesta: 18 €.", "es", "18"),
    ("Respuesta: −3", "es", "-3"),
    ("**Respuesta:** 42", "es", "42"),
    ("Respuesta final: 42", "es", "42"),
    ("La respuesta es 42.", "es", "42"),
    ("Entonces 9 × 2 = 18.\nAnswer: 18", "es", "18"),
    ("No sé la respuesta.", "es", None),
    ("Respuesta:", "es", None),
]

TH = [
    ("เป็ดของเจเน็ตออกไข่วันละ 16 ฟอง เธอกิน 3 ฟองและใช้อบมัฟฟิน 4 ฟอง จึงเหลือ 16 - 3 - 4 = 9 ฟอง "
     "ขายฟองละ 2 ดอลลาร์ ได้ 9 × 2 = 18 ดอลลาร์\nคำตอบ: 18", "th", "18"),
    ("คำตอบ: 18\n\nขายไข่ 9 ฟอง ฟองละ 2 ดอลลาร์", "th", "18"),
    ("คำตอบ: ๑๘", "th", "18"),
    ("คำตอบ: 18 บาท", "th", "18"),
    ("คำตอบ: ๑,๒๓๔ บาท", "th", "1234"),
    ("คำตอบ: 2.5 ชั่วโมง", "th", "2.5"),
    ("ดังนั้นเธอได้เงิน18ดอลลาร์ต่อวัน", "th", "18"),  # no spaces around the number
    ("เธอมีไข่ 16 ฟอง ขายไปแล้ว เหลือ ๙ ฟอง", "th", "9"),  # ASCII and Thai digits mixed
    ("คำตอบ: -5", "th", "-5"),
    ("**คำตอบ:** 42", "th", "42"),
    ("คำตอบสุดท้าย: 42", "th", "42"),
    ("คำตอบคือ 42", "th", "42"),
    ("ดังนั้น 9 × 2 = 18\nAnswer: 18", "th", "18"),
    ("ขออภัย ไม่สามารถตอบคำถามนี้ได้", "th", None),
    ("คำตอบ:", "th", None),
]

CASES = EN + DE + FR + IT + PT + HI + ES + TH


@pytest.mark.parametrize("text, lang, expected", CASES)
def test_golden_cases(text, lang, expected):
    assert extract_number(text, lang) == expected


# The thousands / decimal ambiguity, one row per language: (lang, "1.234", "1,234").
AMBIGUITY = [
    ("en", "1.234", "1234"),
    ("de", "1234", "1.234"),
    ("fr", "1234", "1.234"),
    ("it", "1234", "1.234"),
    ("pt", "1234", "1.234"),
    ("hi", "1.234", "1234"),
    ("es", "1234", "1.234"),
    ("th", "1.234", "1234"),
]


@pytest.mark.parametrize("lang, point_three, comma_three", AMBIGUITY)
def test_three_digits_after_one_separator_follow_the_language(lang, point_three, comma_three):
    assert extract_number("1.234", lang) == point_three
    assert extract_number("1,234", lang) == comma_three


@pytest.mark.parametrize("lang", ALL_CODES)
@pytest.mark.parametrize("text, expected", [
    ("2.5", "2.5"), ("2,5", "2.5"), ("1,234.5", "1234.5"), ("1.234,5", "1234.5"), ("1234.567", "1234.567"),
    ("0.500", "0.5"), ("1.5.2024", "2024"), ("42.", "42"), ("-0", "0"), ("10-3", "3"),
])
def test_unambiguous_forms_read_the_same_in_every_language(lang, text, expected):
    assert extract_number(text, lang) == expected


def test_every_language_has_its_golden_cases():
    for code in ALL_CODES:
        rows = [row for row in CASES if row[1] == code]
        assert len(rows) >= 10, code
        assert any(expected is None for _, _, expected in rows), code


@pytest.mark.parametrize("lang", ALL_CODES)
def test_every_language_has_answer_words_and_phrases_with_the_english_fallback(lang):
    words = vocabulary(lang)
    assert len(words["answer_words"]) >= 2 and words["answer_phrases"]
    assert "Answer" in words["answer_words"] and "answer is" in words["answer_phrases"]
    assert packs.load_pack(lang).literals["answer"] == words["answer_words"][0]  # the prompt's own word


def test_an_edited_pack_word_changes_extraction():
    # the words come from the pack: a word no pack has is not a prefix, until it is passed in
    text = "Antwurt: 7\nwe also count 12"
    assert extract_number(text, "de") == "12"
    assert extract_with(text, "de", answer_words=("Antwurt",)) == "7"


@pytest.mark.parametrize("lang", ["xx", "zh", "deu"])
def test_unknown_language_is_an_error(lang):
    with pytest.raises(OctoglotError, match=r"extract_number: unknown language"):
        extract_with("Answer: 18", lang)
