"""The backend agreement check's arithmetic and how its verdict reaches runs (pure functions; the check
against a real llama.cpp server is in test_served.py)."""

import math

from harness.core.backend_verdicts import flag, summary
from harness.interop.backend_check import TOLERANCE, compare

REFERENCE = [[(-2.0, True), (-5.0, False)], [(-7.5, False), (-1.25, True), (-3.0, False)]]
LENGTHS = [[1, 2], [3, 1, 1]]  # continuation tokens


def test_the_same_answers_agree():
    result = compare(REFERENCE, REFERENCE, LENGTHS, TOLERANCE)
    assert result == {"requests": 5, "max_abs_diff": 0.0, "mean_abs_diff": 0.0, "max_per_token": 0.0,
                      "mean_per_token": 0.0, "argmax_agreement": 1.0, "verdict": "agrees"}


def test_small_differences_within_the_tolerance_agree():
    nudged = [[(ll + 0.1 * n, g) for (ll, g), n in zip(group, sizes)] for group, sizes in zip(REFERENCE, LENGTHS)]
    result = compare(REFERENCE, nudged, LENGTHS, TOLERANCE)
    assert result["verdict"] == "agrees"
    assert math.isclose(result["max_abs_diff"], 0.3) and math.isclose(result["mean_per_token"], 0.1)


def test_the_verdict_is_per_token_so_long_continuations_may_differ_more():
    # 2 nats on a 10-token continuation is 0.2 per token: within; the same 2 nats on 1 token is not
    one = [[(-2.0, True), (-5.0, False)]]
    shifted = [[(-4.0, True), (-7.0, False)]]
    assert compare(one, shifted, [[10, 10]], TOLERANCE)["verdict"] == "agrees"
    assert compare(one, shifted, [[1, 1]], TOLERANCE)["verdict"] == "disagrees"


def test_single_token_continuations_scored_zero_disagree():
    # what llama-cpp-python's server returns with tokenized_requests=False: every option 0
    zeros = [[(0.0, True) for _ in group] for group in REFERENCE]
    result = compare(REFERENCE, zeros, LENGTHS, TOLERANCE)
    assert result["verdict"] == "disagrees"
    assert result["max_abs_diff"] == 7.5 and math.isclose(result["mean_abs_diff"], (2 + 5 + 7.5 + 1.25 + 3) / 5)
    assert result["argmax_agreement"] == 0.5  # ties resolve to the first option: right once, wrong once


def test_a_non_finite_answer_disagrees():
    broken = [REFERENCE[0], [(-7.5, False), (float("nan"), True), (-3.0, False)]]
    assert compare(REFERENCE, broken, LENGTHS, TOLERANCE)["verdict"] == "disagrees"


def test_flag_is_silent_for_agreement_and_names_the_finding_otherwise():
    assert flag(None) is None
    assert flag({"verdict": "agrees", "reference": "smollm2"}) is None
    line = flag(summary({"verdict": "disagrees", "reference": "smollm2", "max_abs_diff": 7.5, "mean_per_token": 3.25,
                         "per": "token", "tolerance": 0.25, "argmax_agreement": 0.5}))
    assert line.startswith("backend disagrees with smollm2") and "3.25 nats per token > 0.25" in line
    assert "7.5" in line and "50%" in line
    failed = flag({"verdict": "failed", "reference": "smollm2", "error": "HTTPError: 500 Server Error"})
    assert "failed" in failed and "500" in failed
