import pytest

from harness.core.errors import OctoglotError
from harness.core.languages import ALL_CODES, LANGUAGES, get_language, parse_langs


def test_the_eight_languages_in_order():
    assert ALL_CODES == ("en", "de", "fr", "it", "pt", "hi", "es", "th")


@pytest.mark.parametrize("code, flores, script, zero, decimal", [
    ("en", "eng_Latn", "Latn", "0", "."),
    ("de", "deu_Latn", "Latn", "0", ","),
    ("fr", "fra_Latn", "Latn", "0", ","),
    ("it", "ita_Latn", "Latn", "0", ","),
    ("pt", "por_Latn", "Latn", "0", ","),
    ("hi", "hin_Deva", "Deva", "०", "."),
    ("es", "spa_Latn", "Latn", "0", ","),
    ("th", "tha_Thai", "Thai", "๐", "."),
])
def test_language_facts(code, flores, script, zero, decimal):
    lang = get_language(code)
    assert (lang.flores, lang.script, lang.digits[0], lang.decimal_separator) == (flores, script, zero, decimal)
    assert len(lang.digits) == 10 and len(set(lang.digits)) == 10
    assert lang.native_name and lang.english_name


def test_thai_has_no_word_spaces_and_hindi_uses_danda():
    assert not LANGUAGES["th"].word_spaces
    assert LANGUAGES["hi"].full_stop == "।"


@pytest.mark.parametrize("alias", ["de", "deu_Latn", "German", "GERMAN", " de "])
def test_lookup_by_code_flores_or_name(alias):
    assert get_language(alias).code == "de"


@pytest.mark.parametrize("bad, hint", [("dee", "Did you mean 'de'"), ("tha_Thia", "Did you mean 'tha_Thai'"),
                                       ("hin", "Did you mean")])
def test_unknown_code_suggests(bad, hint):
    with pytest.raises(OctoglotError) as err:
        get_language(bad)
    assert hint in str(err.value) and "\n" not in str(err.value)


def test_unknown_code_far_from_everything_lists_available():
    with pytest.raises(OctoglotError, match="Available: en, de, fr, it, pt, hi, es, th"):
        get_language("klingon")


def test_parse_langs():
    assert [lang.code for lang in parse_langs("th,en,th")] == ["th", "en"]
    assert len(parse_langs(None)) == 8 and len(parse_langs("all")) == 8
    with pytest.raises(OctoglotError):
        parse_langs(",")
