"""BFCL's AST rules: every ground truth BFCL ships passes its own checker when written as the model's calls (five
contradict themselves: listed, with why), and a table of hand-made perturbations fails or passes as BFCL's checker
would."""

from __future__ import annotations

import json

import pytest

from conftest import data_dir, needs_data
from harness.tasks import call_checker as cc
from harness.tasks.families.tool_calling import CATEGORIES, kind_of

DOCS = [
    {"name": "math.hypot", "parameters": {"type": "dict", "required": ["x", "y"], "properties": {
        "x": {"type": "integer"}, "y": {"type": "integer"}, "z": {"type": "integer"}}}},
    {"name": "weather.get", "parameters": {"type": "dict", "required": ["city"], "properties": {
        "city": {"type": "string"}, "unit": {"type": "string"}, "days": {"type": "float"},
        "hours": {"type": "array", "items": {"type": "integer"}},
        "options": {"type": "dict", "properties": {}}}}},
]
HYPOT = [{"math.hypot": {"x": [4], "y": [5], "z": ["", 0]}}]
WEATHER = [{"weather.get": {"city": ["San Francisco, CA", "San Francisco"], "unit": ["", "celsius"],
                            "days": [2.0], "hours": [[6, 12]], "options": ["", {"detail": ["high"]}]}}]
PARALLEL = [{"math.hypot": {"x": [3], "y": [4], "z": [""]}}, {"math.hypot": {"x": [6], "y": [8], "z": [""]}}]

# (case, calls, answers, kind, valid, error type): what BFCL's ast_checker says of each
CASES = [
    ("the answer", [{"math.hypot": {"x": 4, "y": 5}}], HYPOT, "simple", True, None),
    ("optional given right", [{"math.hypot": {"x": 4, "y": 5, "z": 0}}], HYPOT, "simple", True, None),
    ("optional given wrong", [{"math.hypot": {"x": 4, "y": 5, "z": 1}}], HYPOT, "simple", False, "wrong_value"),
    ("wrong function", [{"math.pow": {"x": 4, "y": 5}}], HYPOT, "simple", False, "wrong_function"),
    ("missing required", [{"math.hypot": {"x": 4}}], HYPOT, "simple", False, "missing_required"),
    ("extra parameter", [{"math.hypot": {"x": 4, "y": 5, "w": 1}}], HYPOT, "simple", False, "unexpected_parameter"),
    ("string for integer", [{"math.hypot": {"x": "4", "y": 5}}], HYPOT, "simple", False, "wrong_type"),
    ("float for integer", [{"math.hypot": {"x": 4.0, "y": 5}}], HYPOT, "simple", False, "wrong_type"),
    ("bool for integer", [{"math.hypot": {"x": True, "y": 5}}], HYPOT, "simple", False, "wrong_type"),
    ("value outside the list", [{"math.hypot": {"x": 5, "y": 4}}], HYPOT, "simple", False, "wrong_value"),
    ("two calls for one", [{"math.hypot": {"x": 4, "y": 5}}] * 2, HYPOT, "simple", False, "wrong_count"),
    ("no call", [], HYPOT, "simple", False, "no_call"),
    ("integer where float", [{"weather.get": {"city": "San Francisco", "days": 2, "hours": [6, 12]}}], WEATHER,
     "multiple", True, None),
    ("string normalized", [{"weather.get": {"city": "san francisco ca", "days": 2.0, "hours": [6, 12]}}], WEATHER,
     "multiple", True, None),
    ("string case and punctuation only", [{"weather.get": {"city": "SAN-FRANCISCO", "days": 2.0,
                                                           "hours": [6, 12]}}], WEATHER, "multiple", True, None),
    ("another city", [{"weather.get": {"city": "Los Angeles", "days": 2.0, "hours": [6, 12]}}], WEATHER,
     "multiple", False, "wrong_value"),
    ("array item type", [{"weather.get": {"city": "San Francisco", "days": 2.0, "hours": ["6", "12"]}}], WEATHER,
     "multiple", False, "wrong_type"),
    ("array order matters", [{"weather.get": {"city": "San Francisco", "days": 2.0, "hours": [12, 6]}}], WEATHER,
     "multiple", False, "wrong_value"),
    ("required-by-answer omitted", [{"weather.get": {"city": "San Francisco", "hours": [6, 12]}}], WEATHER,
     "multiple", False, "missing_optional"),
    ("dict value", [{"weather.get": {"city": "San Francisco", "days": 2.0, "hours": [6, 12],
                                     "options": {"detail": "High"}}}], WEATHER, "multiple", True, None),
    ("dict with an unknown key", [{"weather.get": {"city": "San Francisco", "days": 2.0, "hours": [6, 12],
                                                   "options": {"detail": "high", "x": 1}}}], WEATHER, "multiple",
     False, "wrong_value"),
    ("parallel in order", [{"math.hypot": {"x": 3, "y": 4}}, {"math.hypot": {"x": 6, "y": 8}}], PARALLEL,
     "parallel", True, None),
    ("parallel swapped", [{"math.hypot": {"x": 6, "y": 8}}, {"math.hypot": {"x": 3, "y": 4}}], PARALLEL,
     "parallel", True, None),
    ("parallel one missing", [{"math.hypot": {"x": 3, "y": 4}}], PARALLEL, "parallel", False, "wrong_count"),
    ("parallel one wrong", [{"math.hypot": {"x": 3, "y": 4}}, {"math.hypot": {"x": 6, "y": 9}}], PARALLEL,
     "parallel", False, "wrong_value"),
    ("parallel the same twice", [{"math.hypot": {"x": 3, "y": 4}}] * 2, PARALLEL, "parallel", False,
     "wrong_value"),
    ("irrelevance: no call", [], [], "irrelevance", True, None),
    ("irrelevance: a call", [{"math.hypot": {"x": 1, "y": 1}}], [], "irrelevance", False, "called"),
    ("relevance: a call", [{"math.hypot": {"x": 1, "y": 1}}], [], "relevance", True, None),
    ("relevance: no call", [], [], "relevance", False, "no_call"),
]


@pytest.mark.parametrize("case, calls, answers, kind, valid, error_type", CASES, ids=[c[0] for c in CASES])
def test_perturbations_as_bfcl_judges_them(case, calls, answers, kind, valid, error_type):
    verdict = cc.check(DOCS, calls, answers, kind)
    assert (verdict.valid, verdict.error_type) == (valid, error_type), verdict.error


def test_normalization_is_bfcls():
    assert cc.normalize("April 1, 2024") == cc.normalize("april 1 2024") == "april12024"
    assert cc.normalize("it's") == 'it"s'
    assert cc.normalize("São Paulo") == "sãopaulo"  # letters of every script are kept


# BFCL v4's ground truths that contradict their own function documents (checked by hand against the files)
SELF_CONTRADICTING = {
    "live_simple_106-63-0": "required parameter auto_loan_payment_start missing",
    "live_simple_112-68-0": "required parameter acc_routing_start missing",
    "live_multiple_507-149-4": "required parameter origin_airport missing",
    "live_multiple_862-181-3": "unexpected parameter journey_start_time",
    "live_multiple_964-207-0": "required parameter statement missing",
}


@needs_data
def test_every_shipped_ground_truth_passes_its_own_checker():
    checked, failed = 0, {}
    for category in CATEGORIES:
        if kind_of(category) in ("irrelevance", "relevance"):
            continue
        folder = data_dir("bfcl")
        questions = {json.loads(line)["id"]: json.loads(line)
                     for line in (folder / f"BFCL_v4_{category}.json").read_text("utf-8").splitlines()}
        for line in (folder / "possible_answer" / f"BFCL_v4_{category}.json").read_text("utf-8").splitlines():
            answer = json.loads(line)
            error = cc.data_error(questions[answer["id"]]["function"], answer["ground_truth"], kind_of(category))
            checked += 1
            if error:
                failed[answer["id"]] = error
    assert checked == 2351
    assert set(failed) == set(SELF_CONTRADICTING)
    for item, reason in SELF_CONTRADICTING.items():
        assert reason in failed[item]
