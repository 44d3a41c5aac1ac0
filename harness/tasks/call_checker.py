"""BFCL's AST rules: is a model's list of calls one of the acceptable answers?

The rules are those of BFCL's ``ast_checker`` for Python (gorilla ``bfcl_eval/eval_checker/ast_eval``), written
here for the single-turn categories octoglot runs; the ``bfcl-eval`` wheel itself pins 30 dependencies
(numpy 1.26 among them) and cannot be a dependency. A ground truth maps each expected function to each parameter's
list of acceptable values, ``""`` in the list meaning the parameter may be left out.

One call against one expected function (``check_call``), in this order, the first failure being the verdict:

1. the function name (``wrong_function``);
2. every required parameter is there (``missing_required``);
3. no parameter the document or the ground truth does not know (``unexpected_parameter``);
4. each value's type against the document's type (``wrong_type``): an integer is accepted where a float is declared
   (and compared as a float); a tuple where a tuple is declared; the items of an array against its item type; where
   the ground truth's values are of another type than the declared one (a "variable"), that type is accepted;
5. each value in the acceptable list (``wrong_value``): strings compared after BFCL's normalization (case, spaces and
   ``,./-_*^`` dropped, ``'`` read as ``"``), lists item by item the same way, dicts key by key (a key may be left
   out where ``""`` is acceptable), lists of dicts dict by dict;
6. every parameter of the ground truth that is not optional was given (``missing_optional``).

Categories (``check``): ``simple``: exactly one call; ``multiple``: exactly one call, against the function the
ground truth names; ``parallel`` and ``parallel_multiple``: as many calls as expected, matched in any order (each
expected call takes the first unmatched model call that passes, as BFCL does); ``irrelevance``: right when no
call was made; ``relevance``: right when at least one was (its arguments are not judged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TYPES: dict[str, type] = {"string": str, "integer": int, "float": float, "boolean": bool, "array": list,
                          "tuple": list, "dict": dict, "any": str}
NESTED = ("array", "tuple")
_DROPPED = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True)
class Verdict:
    valid: bool
    error_type: str | None = None  # why not: "wrong_function", "missing_required", ... (module docstring)
    error: str | None = None

    @classmethod
    def fail(cls, error_type: str, error: str) -> "Verdict":
        return cls(False, error_type, error)


OK = Verdict(True)


def normalize(text: str) -> str:
    """BFCL's string normalization: "April 1, 2024" and "april 1 2024" compare equal."""
    return _DROPPED.sub("", text).lower().replace("'", '"')


def _answer_type(acceptable: list) -> type | None:
    return next((type(a) for a in acceptable if a != ""), None)


def _type_ok(value: object, acceptable: list, declared: type, item: type | None) -> tuple[bool, bool]:
    """(type accepted, the ground truth's values are of another type than declared: compare by value only)."""
    answer_type = _answer_type(acceptable)
    variable = answer_type is not None and answer_type is not declared
    if type(value) is declared:
        if item is None:
            return True, variable
        for option in acceptable:  # every item must fit the item type, for some acceptable list
            if isinstance(option, list) and all(_type_ok(v, option, item, None)[0] for v in value):
                return True, variable
        return False, variable
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, variable


def _normal(value: object) -> object:
    return normalize(value) if isinstance(value, str) else value


def _dict_ok(value: dict, acceptable: list) -> bool:
    for option in acceptable:
        if option == "" or not isinstance(option, dict):
            continue
        if all(k in option and _normal(v) in [_normal(a) for a in option[k]] for k, v in value.items()) \
                and all(k in value or "" in option[k] for k in option):
            return True
    return False


def _list_of_dicts_ok(value: list, acceptable: list) -> bool:
    return any(isinstance(option, list) and len(option) == len(value)
               and all(isinstance(v, dict) and _dict_ok(v, [o]) for v, o in zip(value, option))
               for option in acceptable)


def _value_ok(value: object, acceptable: list, declared: type, item: type | None) -> bool:
    if declared is dict:
        return isinstance(value, dict) and _dict_ok(value, acceptable)
    if declared is list and item is dict:
        return isinstance(value, list) and _list_of_dicts_ok(value, acceptable)
    if declared is str:
        return isinstance(value, str) and normalize(value) in [normalize(a) for a in acceptable if isinstance(a, str)]
    if declared is list:
        mine = [_normal(v) for v in value]
        return any(isinstance(option, list) and mine == [_normal(a) for a in option] for option in acceptable)
    return value in acceptable


def check_call(doc: dict, call: dict, expected: dict) -> Verdict:
    """One model call (``{name: {param: value}}``) against one expected call and its function document."""
    name = doc["name"]
    (acceptable_by_param,) = expected.values()
    if name not in call:
        return Verdict.fail("wrong_function", f"expected {name}, got {', '.join(call) or 'nothing'}")
    given = call[name]
    if not isinstance(given, dict):
        return Verdict.fail("malformed", f"{name}: arguments are not named")
    properties = doc.get("parameters", {}).get("properties", {})
    for param in doc.get("parameters", {}).get("required", []):
        if param not in given:
            return Verdict.fail("missing_required", f"{name}: required parameter {param} missing")
    for param, value in given.items():
        if param not in properties or param not in acceptable_by_param:
            return Verdict.fail("unexpected_parameter", f"{name}: unexpected parameter {param}")
        declared_name = properties[param].get("type", "any")
        declared = TYPES.get(declared_name, str)
        item = None
        if declared_name in NESTED:
            item = TYPES.get(properties[param].get("items", {}).get("type", "any"), str)
        if declared_name == "tuple" and isinstance(value, tuple):
            value = list(value)
        if declared is float and type(value) is int:
            value = float(value)
        acceptable = acceptable_by_param[param]
        fits, variable = _type_ok(value, acceptable, declared, item)
        if not fits:
            return Verdict.fail("wrong_type", f"{name}: {param} should be {declared_name}, got "
                                f"{type(value).__name__} {value!r}")
        if variable:
            if value not in acceptable:
                return Verdict.fail("wrong_value", f"{name}: {param}={value!r} not among {acceptable!r}")
        elif not _value_ok(value, acceptable, declared, item):
            return Verdict.fail("wrong_value", f"{name}: {param}={value!r} not among {acceptable!r}")
    for param, acceptable in acceptable_by_param.items():
        if param not in given and "" not in acceptable:
            return Verdict.fail("missing_optional", f"{name}: parameter {param} expected (not optional here)")
    return OK


def _doc(docs: list[dict], name: str) -> dict:
    return next((d for d in docs if d["name"] == name), {"name": name, "parameters": {}})


def check(docs: list[dict], calls: list[dict], answers: list[dict], kind: str) -> Verdict:
    """The model's calls against the ground truth of one item; ``kind``: ``simple``, ``multiple``, ``parallel``,
    ``parallel_multiple``, ``irrelevance`` or ``relevance`` (module docstring)."""
    if kind == "irrelevance":
        return OK if not calls else Verdict.fail("called", f"called {', '.join(n for c in calls for n in c)} "
                                                 "where no function applies")
    if kind == "relevance":
        return OK if calls else Verdict.fail("no_call", "no call where one applies")
    if not calls:
        return Verdict.fail("no_call", "no call")
    if len(calls) != len(answers):
        return Verdict.fail("wrong_count", f"{len(calls)} calls, expected {len(answers)}")
    if kind in ("simple", "multiple"):
        expected = answers[0]
        return check_call(_doc(docs, next(iter(expected))), calls[0], expected)
    matched: set[int] = set()
    for expected in answers:
        doc = _doc(docs, next(iter(expected)))
        verdicts = [(i, check_call(doc, call, expected)) for i, call in enumerate(calls) if i not in matched]
        hit = next((i for i, v in verdicts if v.valid), None)
        if hit is None:
            first = verdicts[0][1] if verdicts else Verdict.fail("wrong_count", "no call left")
            return Verdict.fail(first.error_type or "no_match", f"no call matches {doc['name']}: {first.error}")
        matched.add(hit)
    return OK


def _first(acceptable: object) -> object:
    """The first acceptable value that is not "may be left out", as a model would write it."""
    if not isinstance(acceptable, list):
        return acceptable
    value = next(a for a in acceptable if a != "")
    if isinstance(value, dict):
        return {k: _first(v) for k, v in value.items() if not (isinstance(v, list) and all(a == "" for a in v))}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_first([v]) for v in value]
    return value


def answer_as_calls(answers: list[dict], docs: list[dict]) -> list[dict]:
    """The ground truth written as a model's calls: each parameter's first acceptable value; one that may be left
    out (``""`` acceptable) is left out unless its document requires it. The golden check: every ground truth
    passes its own checker, except where the data contradicts itself (``data_error``)."""
    calls = []
    for answer in answers:
        ((name, params),) = answer.items()
        required = set(_doc(docs, name).get("parameters", {}).get("required", []))
        calls.append({name: {p: _first(acceptable) for p, acceptable in params.items()
                             if any(a != "" for a in acceptable) and ("" not in acceptable or p in required)}})
    return calls


def data_error(docs: list[dict], answers: list[dict], kind: str) -> str | None:
    """Why an item's ground truth fails its own checker (the data contradicts itself: a required parameter the
    ground truth never gives, a parameter the document does not have), or None."""
    try:
        verdict = check(docs, answer_as_calls(answers, docs), answers, kind)
    except (StopIteration, KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"ground truth unreadable: {type(exc).__name__}: {exc}"
    return None if verdict.valid else f"ground truth fails its own check: {verdict.error}"
