from collections import Counter

from conftest import FIXTURES, SHARED_DATA, needs_data
from harness.tasks import data, packs
from harness.tasks.families.multiple_choice import sib200_samples
from harness.tasks.packs import LocalSource
from harness.core.records import Sample
from harness.core.sampling import seeded_subset


def samples(n: int, lang: str) -> list[Sample]:
    return [Sample(str(i), "t", lang, f"p{i}") for i in range(n)]


def test_limit_is_seeded_not_the_first_rows():
    chosen = [s.id for s in seeded_subset(samples(200, "en"), 20, seed=1)]
    assert len(chosen) == 20 and chosen != [str(i) for i in range(20)]
    assert chosen == [s.id for s in seeded_subset(samples(200, "en"), 20, seed=1)]  # reproducible
    assert chosen != [s.id for s in seeded_subset(samples(200, "en"), 20, seed=2)]  # seed matters


def test_same_items_in_every_language_even_in_a_different_row_order():
    en = samples(100, "en")
    th = list(reversed(samples(100, "th")))
    assert {s.id for s in seeded_subset(en, 10, 7)} == {s.id for s in seeded_subset(th, 10, 7)}


def test_larger_limit_keeps_smaller_choice_and_order():
    small = [s.id for s in seeded_subset(samples(50, "en"), 5, 3)]
    large = [s.id for s in seeded_subset(samples(50, "en"), 15, 3)]
    assert set(small) <= set(large)
    assert large == sorted(large, key=int)  # original order kept
    assert len(seeded_subset(samples(5, "en"), 50, 3)) == 5


@needs_data
def test_sib200_limit_25_spans_several_topics_on_real_data():
    # the upstream test files are sorted by topic: the first 25 rows are all one class
    root = data.DataDir(SHARED_DATA, "x")
    en_pack = packs.load_pack("en")
    rows = data.read_local(root, en_pack.tasks["sib200"].local).rows
    assert len({r["category"] for r in rows[:25]}) == 1
    chosen = seeded_subset(sib200_samples(rows, en_pack.literals, "en"), 25, 1234)
    assert len(Counter(s.target for s in chosen)) >= 4
    th_rows = data.read_local(root, packs.load_pack("th").tasks["sib200"].local).rows
    th = seeded_subset(sib200_samples(th_rows, packs.load_pack("th").literals, "th"), 25, 1234)
    assert [s.id for s in th] == [s.id for s in chosen]
    assert [s.target for s in th] == [s.target for s in chosen]  # parallel: same gold topic


def test_fixture_rows_load_with_the_real_adapter():
    rows = data.read_local(data.DataDir(FIXTURES.joinpath("data").resolve(), "x"),
                           LocalSource(path="sib200/data/annotated/deu_Latn/test.tsv")).rows
    out = sib200_samples(rows, packs.load_pack("de").literals, "de")
    assert [s.id for s in out] == [str(i) for i in range(11, 21)]
