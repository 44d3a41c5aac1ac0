"""Paired tests (harness.stats): exact McNemar and Holm against hand-computed values, the paired
bootstrap against sacrebleu's own ``PairedTest`` on the same hypotheses."""

import math
import random
import time

import pytest
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest

from harness.scoring import statistics as stats
from harness.tasks.families.translation import make_metric, segment_statistics

# --- McNemar -------------------------------------------------------------------------------------

# (b, c, p): p = min(1, 2 * P(X <= min(b, c))), X ~ Bin(b + c, 1/2), worked by hand:
MCNEMAR_CASES = [
    (0, 5, 0.0625),  # 2 * C(5,0) / 2^5 = 2/32
    (5, 0, 0.0625),  # symmetric
    (1, 9, 0.021484375),  # 2 * (C(10,0) + C(10,1)) / 2^10 = 2 * 11/1024 = 22/1024
    (2, 8, 0.109375),  # 2 * (1 + 10 + 45) / 1024 = 112/1024
    (0, 12, 0.00048828125),  # 2 / 4096
    (10, 0, 0.001953125),  # 2 / 1024
    (3, 3, 1.0),  # b = c: 2 * P(X <= 3) for Bin(6, 1/2) = 2 * 42/64 > 1, capped
    (7, 7, 1.0),
    (0, 1, 1.0),  # 2 * 1/2
    (0, 0, 1.0),  # no discordant pair: no evidence
]


@pytest.mark.parametrize("b, c, expected", MCNEMAR_CASES)
def test_mcnemar_exact_hand_computed(b, c, expected):
    assert stats.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_exact_agrees_with_scipy_binomtest():
    scipy_stats = pytest.importorskip("scipy.stats", reason="scipy is only a cross-check, not a dependency")
    for b, c in [(4, 11), (30, 45), (120, 95), (0, 40), (500, 530)]:
        expected = scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue
        assert stats.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)


def test_mcnemar_exact_large_counts_stay_finite():
    p = stats.mcnemar_exact(5000, 5200)  # 2**10200 does not fit a float: integer arithmetic
    assert 0 < p < 1 and math.isfinite(p)


def test_mcnemar_exact_rejects_negative_counts():
    with pytest.raises(ValueError, match="non-negative"):
        stats.mcnemar_exact(-1, 3)


def test_paired_binary_counts_discordant_pairs():
    a = [1, 1, 0, 0, 1, 0, 1, 1]
    b = [1, 0, 1, 1, 1, 1, 0, 1]  # A only: items 1, 6 (b=2); B only: items 2, 3, 5 (c=3)
    result = stats.paired_binary(a, b)
    assert (result["n"], result["b"], result["c"]) == (8, 2, 3)
    assert result["delta"] == pytest.approx(sum(b) / 8 - sum(a) / 8)
    assert result["p_value"] == pytest.approx(1.0)  # 2 * (1 + 5 + 10) / 32 = 1.0


@pytest.mark.parametrize("a, b, message", [([1, 0], [1], "2 values for A but 1"),
                                           ([1, 0.5], [1, 1], "must be 0 or 1, got 0.5")])
def test_paired_binary_rejects_bad_input(a, b, message):
    with pytest.raises(ValueError, match=message):
        stats.paired_binary(a, b)


# --- Holm ----------------------------------------------------------------------------------------

HOLM_CASES = [
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005=0.02, 3*0.01=0.03, 2*0.03=0.06, 1*0.04=0.04 -> monotone 0.06
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
    ([0.5, 0.6], [1.0, 1.0]),  # 2*0.5 = 1.0; 0.6 raised to 1.0 (monotone), capped at 1
    ([0.01, 0.01], [0.02, 0.02]),  # ties
    ([0.001, 0.2, 0.9], [0.003, 0.4, 0.9]),  # 3*0.001, 2*0.2, 1*0.9
    ([0.2], [0.2]),
    ([], []),
]


@pytest.mark.parametrize("pvalues, expected", HOLM_CASES)
def test_holm_hand_computed(pvalues, expected):
    assert stats.holm(pvalues) == pytest.approx(expected, abs=1e-12)


# --- paired bootstrap against sacrebleu ------------------------------------------------------------

WORDS = ("the cat dog house river small green old city market bread water we they see find "
         "walk over under quickly slowly near far bright dark morning evening").split()


def corpus(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14))) + "." for _ in range(n)]


def corrupt(lines: list[str], rate: float, seed: int) -> list[str]:
    """Each word dropped or replaced with probability ``rate`` (self-made "system outputs")."""
    rng = random.Random(seed)
    out = []
    for line in lines:
        words = []
        for word in line.split():
            roll = rng.random()
            if roll < rate / 2:
                continue
            words.append(rng.choice(WORDS) if roll < rate else word)
        out.append(" ".join(words))
    return out


def sacrebleu_paired(refs, hyps_a, hyps_b, metric, resamples=1000):
    """sacrebleu's own paired bootstrap (A is its baseline): (delta B - A, p-value)."""
    _, scores = PairedTest([("A", hyps_a), ("B", hyps_b)], {"m": metric}, [refs], test_type="bs",
                           n_samples=resamples)()
    (name,) = [k for k in scores if k != "System"]
    base, system = scores[name]
    return system.score - base.score, system.p_value


def ours(refs, hyps_a, hyps_b, name, lang="de", resamples=1000):
    metric = make_metric(name, lang)
    return stats.paired_bootstrap(segment_statistics(hyps_a, refs, metric), segment_statistics(hyps_b, refs, metric),
                                  lambda sums: metric._compute_score_from_stats(sums).score, resamples=resamples)


# (name, sacrebleu metric, corruption rate of A and B, their seeds): a clear difference (sacrebleu: p at the
# floor, 1/1001), and pairs of similar systems whose p-values fall at 0.33, 0.036 and 0.098 (sacrebleu 2.6).
REFERENCE_CASES = [
    ("chrf++", CHRF(word_order=2), (0.1, 1), (0.4, 2)),
    ("chrf++", CHRF(word_order=2), (0.3, 3), (0.3, 4)),
    ("chrf++", CHRF(word_order=2), (0.3, 7), (0.3, 8)),
    ("bleu", BLEU(tokenize="13a"), (0.3, 1), (0.3, 2)),
]


@pytest.mark.parametrize("name, reference_metric, system_a, system_b", REFERENCE_CASES)
def test_paired_bootstrap_matches_sacrebleu(name, reference_metric, system_a, system_b, monkeypatch):
    # The same seed (12345, sacrebleu's default) draws the same resample indices, so the p-values agree
    # up to resamples that sit within float32 rounding of the threshold (sacrebleu sums the statistics
    # in float32, this module in int64): allow two resamples. They were equal in every case tried.
    # Deltas come from the same full-corpus statistics: identical.
    monkeypatch.delenv("SACREBLEU_SEED", raising=False)
    refs = corpus(300)
    hyps_a, hyps_b = corrupt(refs, *system_a), corrupt(refs, *system_b)
    delta, p_value = sacrebleu_paired(refs, hyps_a, hyps_b, reference_metric)
    result = ours(refs, hyps_a, hyps_b, name)
    assert result["delta"] == delta
    assert result["p_value"] == pytest.approx(p_value, abs=2 / 1001)
    assert result["ci95"][0] <= result["delta"] <= result["ci95"][1]


def test_paired_bootstrap_p_value_regions():
    refs = corpus(300)
    clear = ours(refs, corrupt(refs, 0.1, 1), corrupt(refs, 0.4, 2), "chrf++")
    assert clear["delta"] < 0 and clear["p_value"] == pytest.approx(1 / 1001)  # the floor: (0 + 1) / (R + 1)
    assert clear["ci95"][1] < 0
    close = ours(refs, corrupt(refs, 0.3, 1), corrupt(refs, 0.3, 2), "chrf++")
    assert close["p_value"] > 0.05 and close["ci95"][0] < 0 < close["ci95"][1]


def test_paired_bootstrap_identical_systems_is_not_significant():
    # sacrebleu reports p = 1/(R+1) for identical systems (no centred difference is "> 0"); not here.
    refs = corpus(50)
    hyps = corrupt(refs, 0.3, 1)
    assert sacrebleu_paired(refs, hyps, list(hyps), CHRF(word_order=2))[1] == pytest.approx(1 / 1001)
    result = ours(refs, hyps, list(hyps), "chrf++")
    assert (result["delta"], result["p_value"], result["ci95"]) == (0.0, 1.0, [0.0, 0.0])


def test_paired_bootstrap_is_seeded_and_pairs_the_resamples():
    refs = corpus(100)
    a, b = corrupt(refs, 0.2, 1), corrupt(refs, 0.3, 2)
    assert ours(refs, a, b, "chrf++") == ours(refs, a, b, "chrf++")
    swapped = ours(refs, b, a, "chrf++")
    forward = ours(refs, a, b, "chrf++")
    assert swapped["delta"] == -forward["delta"] and swapped["p_value"] == forward["p_value"]


def test_paired_bootstrap_of_a_mean():
    table_a, score = stats.mean_statistics([0.0, 0.5, 1.0, 1.0])
    table_b, _ = stats.mean_statistics([1.0, 0.5, 1.0, 1.0])
    result = stats.paired_bootstrap(table_a, table_b, score, resamples=200)
    assert (result["score_a"], result["score_b"], result["delta"]) == (0.625, 0.875, 0.25)


def test_paired_bootstrap_rejects_unpaired_statistics():
    with pytest.raises(ValueError, match="shape"):
        stats.paired_bootstrap([[1, 2], [3, 4]], [[1, 2]], sum)


def test_paired_bootstrap_is_fast_on_a_flores_sized_corpus():
    refs = corpus(1012)
    metric = make_metric("chrf++", "de")
    stats_a = segment_statistics(corrupt(refs, 0.2, 1), refs, metric)
    stats_b = segment_statistics(corrupt(refs, 0.25, 2), refs, metric)
    started = time.perf_counter()
    stats.paired_bootstrap(stats_a, stats_b, lambda sums: metric._compute_score_from_stats(sums).score)
    assert time.perf_counter() - started < 1.0  # about 0.1 s on the development machine
