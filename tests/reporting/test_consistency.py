"""Cross-lingual consistency (harness.consistency) on hand-made parallel runs."""

import math

import pytest
from test_compare import binary, record, write_run  # the run-directory writer, real format

from harness.reporting import consistency
from harness.reporting.runs import load_run

# MGSM-like items 0..5 (headline metric exact_match); correct items per language:
#   en: 0 1 2 3      de: 0 1 4        th: 0 2 3, item 5 failed (error)
# agree with en: de: 0 1 right in both, 5 wrong in both; 2 3 4 differ -> 3/6
#                th: 0 2 3 right in both, 4 wrong in both; 1 differs; 5 left out -> 4/5
# solved in all: items scored everywhere 0..4; right in all three: 0 -> 1/5
PARALLEL = {
    ("mgsm", "en"): binary({0, 1, 2, 3}, n=6, metric="exact_match"),
    ("mgsm", "de"): binary({0, 1, 4}, n=6, metric="exact_match"),
    ("mgsm", "th"): binary({0, 2, 3}, n=6, errors={5}, metric="exact_match"),
}


@pytest.fixture
def run(tmp_path):
    return load_run(write_run(tmp_path, "alpha", PARALLEL))


def test_agreement_with_english_and_solved_in_all(run):
    frame = consistency.table(run)
    assert list(frame.columns) == consistency.COLUMNS
    assert frame.to_dict(orient="records") == [
        {"task": "mgsm", "lang": "de", "agree_with_en": 3 / 6, "n": 6, "solved_in_all": 1 / 5, "n_all": 5,
         "n_langs": 3, "langs": "en,de,th"},
        {"task": "mgsm", "lang": "th", "agree_with_en": 4 / 5, "n": 5, "solved_in_all": 1 / 5, "n_all": 5,
         "n_langs": 3, "langs": "en,de,th"},
    ]


def test_languages_restrict_the_rows_and_what_all_means(run):
    frame = consistency.table(run, langs=["en", "de"])
    # en and de only: items 0..5 scored in both; right in both: 0 1 -> 2/6
    assert frame[["lang", "agree_with_en", "solved_in_all", "n_all"]].values.tolist() == [["de", 0.5, 2 / 6, 6]]


def test_without_english_agreement_is_undefined_but_solved_in_all_is_not(run):
    rows = consistency.table(run, langs=["de", "th"]).to_dict(orient="records")
    assert [row["lang"] for row in rows] == ["de", "th"]
    for row in rows:
        assert math.isnan(row["agree_with_en"]) and row["n"] == 0
        assert (row["solved_in_all"], row["n_all"]) == (1 / 5, 5)  # items 0..4; 0 right in both


def test_one_language_gives_no_rows(run):
    assert consistency.table(run, langs=["en"]).empty


@pytest.mark.parametrize("task, lang_metric", [("xquad", "f1"), ("xwinograd", "acc"), ("flores_en_xx", "chrf")])
def test_tasks_that_are_not_parallel_or_not_binary_are_left_out(tmp_path, task, lang_metric):
    cells = {(task, lang): binary({0}, n=3, metric=lang_metric) for lang in ("en", "de")}
    run = load_run(write_run(tmp_path, "alpha", cells))
    assert consistency.table(run).empty
    assert not consistency.eligible(run, task)


@pytest.mark.parametrize("task", ["sib200", "xcopa", "belebele", "global_mmlu", "xnli", "mgsm", "mgsm_direct"])
def test_parallel_binary_tasks_are_eligible(tmp_path, task):
    # a format 1 run: the facts of its tasks are format 1's, read from the frozen table, not the registry
    metric = "exact_match" if task.startswith("mgsm") else "acc"
    run = load_run(write_run(tmp_path, "alpha", {(task, lang): binary({0}, n=3, metric=metric) for lang in ("en", "de")}))
    assert consistency.eligible(run, task)


def test_several_tasks_and_task_selection(tmp_path):
    cells = {**PARALLEL, ("sib200", "en"): binary({0, 1}, n=4), ("sib200", "hi"): binary({1, 2}, n=4)}
    run = load_run(write_run(tmp_path, "alpha", cells))
    frame = consistency.table(run)
    assert frame[["task", "lang"]].values.tolist() == [["mgsm", "de"], ["mgsm", "th"], ["sib200", "hi"]]
    # sib200 hi: 1 right in both, 3 wrong in both, 0 and 2 differ -> 2/4; solved in all: item 1 -> 1/4
    assert frame.iloc[2][["agree_with_en", "solved_in_all"]].tolist() == [0.5, 0.25]
    assert consistency.table(run, tasks=["sib200"])["task"].unique().tolist() == ["sib200"]
    per_task = frame.groupby("task")[["solved_in_all", "n_all"]].first()
    assert per_task.loc["mgsm"].tolist() == [0.2, 5]


def test_an_empty_run_gives_an_empty_frame_with_the_columns(tmp_path):
    run = load_run(write_run(tmp_path, "alpha", {("xquad", "en"): [record("1", {"f1": 0.5})]}))
    frame = consistency.table(run)
    assert frame.empty and list(frame.columns) == consistency.COLUMNS


@pytest.mark.slow
def test_real_run(real_sib_run):
    frame = consistency.table(load_run(real_sib_run))
    assert frame["lang"].tolist() == ["de", "fr", "it", "pt", "hi", "es", "th"]
    assert frame["n"].eq(5).all() and frame["agree_with_en"].between(0, 1).all()
    assert frame["n_langs"].eq(8).all()


def test_paired_difference_from_english_on_the_shared_items(run):
    # de vs en on items 0..5: en right 0 1 2 3, de right 0 1 4 -> b (en only) = 2 (items 2 3), c (de only) = 1 (4)
    # th vs en on items 0..4 (5 failed in th): en right 0 1 2 3, th right 0 2 3 -> b = 1 (item 1), c = 0
    rows = {r["lang"]: r for r in consistency.vs_english(run, "mgsm", ["en", "de", "th"])}
    assert (rows["de"]["n"], rows["de"]["b"], rows["de"]["c"]) == (6, 2, 1)
    assert rows["de"]["delta"] == pytest.approx(3 / 6 - 4 / 6) and rows["de"]["en"] == pytest.approx(4 / 6)
    assert rows["de"]["p_value"] == 1.0  # 2 vs 1 discordant: nowhere near significant
    assert (rows["th"]["n"], rows["th"]["b"], rows["th"]["c"]) == (5, 1, 0)
    assert rows["th"]["delta"] == pytest.approx(3 / 5 - 4 / 5)
    assert consistency.vs_english(run, "mgsm", ["de", "th"]) == []  # no English, no difference from it


def test_the_leaderboard_shows_the_difference_from_english(run):
    from harness.reporting import leaderboard, writers

    board = leaderboard.build([run.path])
    assert board.vs_english[["lang", "n", "b", "c"]].values.tolist() == [["de", 6, 2, 1], ["th", 5, 1, 0]]
    assert "## Paired difference from English" in writers.markdown(board)
    assert board.outcomes.empty and "## Program outcomes" not in writers.markdown(board)
