import math

import pytest

from harness.tasks import packs
from harness.core.errors import OctoglotError
from harness.tasks.families import multiple_choice as mc

ROW = {"index_id": "7", "category": "sports", "text": " Die Mannschaft gewann. "}


def de_literals() -> dict:
    return packs.load_pack("de").literals


def test_prompt_and_choices_are_in_the_target_language():
    (sample,) = mc.sib200_samples([ROW], de_literals(), "de")
    assert sample.prompt == "Was ist das Thema des folgenden Satzes?\nSatz: Die Mannschaft gewann.\nThema:"
    assert sample.choices[sample.target] == " Sport"
    assert len(sample.choices) == 7 and all(c.startswith(" ") for c in sample.choices)
    assert (sample.id, sample.task, sample.lang) == ("7", "sib200", "de")


def test_thai_prompt_uses_thai_words():
    (sample,) = mc.sib200_samples([{**ROW, "text": "ทีมชนะ"}], packs.load_pack("th").literals, "th")
    assert sample.prompt.endswith("\nหัวข้อ:") and " กีฬา" in sample.choices


def test_requests_pair_the_prompt_with_every_option():
    (sample,) = mc.sib200_samples([ROW], de_literals(), "de")
    assert sample.loglikelihood_requests() == [(sample.prompt, c) for c in sample.choices]


def test_unknown_category_is_a_clear_error():
    with pytest.raises(OctoglotError, match=r"sib200 \(de\): row 2: category 'cooking' has no name"):
        mc.sib200_samples([{**ROW, "category": "cooking"}], de_literals(), "de")


def test_prompt_hash_changes_with_prompt_or_choices():
    (a,) = mc.sib200_samples([ROW], de_literals(), "de")
    (b,) = mc.sib200_samples([{**ROW, "text": "Anders."}], de_literals(), "de")
    assert a.prompt_hash != b.prompt_hash and len(a.prompt_hash) == 16


# option byte lengths (de): Wissenschaft/Technik 21, Reisen 7, Politik 8, Sport 6, Gesundheit 11, ...
@pytest.mark.parametrize("category, lls, acc, acc_norm", [
    ("sports", [-9, -9, -9, -1.0, -9, -9, -9], 1.0, 1.0),
    # raw argmax is gold, but per byte the long first option wins
    ("sports", [-2.0, -9, -9, -1.9, -9, -9, -9], 1.0, 0.0),
    ("sports", [-1.0, -9, -9, -5.0, -9, -9, -9], 0.0, 0.0),
    # gold is the long option: worse raw than " Sport", better per byte
    ("science/technology", [-2.0, -9, -9, -1.5, -9, -9, -9], 0.0, 1.0),
])
def test_acc_and_length_normalised_acc(category, lls, acc, acc_norm):
    (sample,) = mc.sib200_samples([{**ROW, "category": category}], de_literals(), "de")
    assert mc.score(sample, lls).metrics == {"acc": acc, "acc_norm": acc_norm}


def test_acc_norm_can_differ_from_acc():
    (sample,) = mc.sib200_samples([ROW], de_literals(), "de")
    # " Wissenschaft/Technik" is 21 bytes, " Sport" 6: -3/21 > -1/6 per byte, though -3 < -1
    lls = [-3.0, -99, -99, -1.0, -99, -99, -99]
    assert mc.score(sample, lls).metrics == {"acc": 1.0, "acc_norm": 0.0}
    assert math.isclose(-3.0 / len(sample.choices[0].encode()), -3 / 21)
