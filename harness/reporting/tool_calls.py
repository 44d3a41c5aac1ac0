"""Tool calling in the report: accuracy by category and by the language of the request, how the wrong answers went
wrong, and in which language the model wrote its string arguments.

Read from the run folders (the records' ``details``: ``category``, ``request_lang``, ``outcome``, ``arguments``),
never from today's registry. One row per model, task, unit language, slice kind (``category`` or ``request``) and
slice: the count of scored items, the accuracy with its Wilson 95% interval (BFCL's non-English slices are a few
items: the interval says how little they show), the failures by kind, and, of the string arguments of two words or
more, the share in the request's language and in English. Items the data broke and model errors are not counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.reporting.runs import Run
from harness.scoring.statistics import wilson_interval

if TYPE_CHECKING:
    import pandas as pd

# outcomes (harness.tasks.families.tool_calling) grouped as the report shows them
FAILURES = {"no_call": "no call", "echo": "echoed documents", "malformed": "malformed",
            "wrong_function": "wrong function",
            "wrong_count": "wrong arguments", "missing_required": "wrong arguments",
            "unexpected_parameter": "wrong arguments", "wrong_type": "wrong arguments",
            "wrong_value": "wrong arguments",
            "missing_optional": "wrong arguments", "called": "needless call"}
FAILURE_KINDS = ("no call", "echoed documents", "malformed", "wrong function", "wrong arguments", "needless call")
COLUMNS = ["model", "task", "lang", "by", "slice", "n", "accuracy", "ci_low", "ci_high", *FAILURE_KINDS,
           "args_judged", "args_request", "args_english"]
HEADER = ["model", "task", "lang", "by", "slice", "n", "accuracy [95% CI]", *FAILURE_KINDS, "args", "in request lang",
          "in English"]
TOOL_CALLS = ("Tool calls: accuracy by BFCL's AST rules (× 100, Wilson 95% CI) per category and per detected language "
              "of the request; the failures by kind (no call; echoed documents: no call, the function documents "
              "repeated instead; malformed: a call that does not parse; wrong function; "
              "wrong arguments: count, missing, unknown, type or value; needless call: a call where no function "
              "applies); and of the string arguments of two words or more (args), the share written in the "
              "request's language and in English (the run's language detector; short values are often misjudged).")


def _tally(records: list[dict], key) -> dict[str, dict]:
    slices: dict[str, dict] = {}
    for record in records:
        details = record.get("details") or {}
        if record.get("error") or details.get("data_error") or "outcome" not in details:
            continue
        group = slices.setdefault(str(key(details)), {"n": 0, "right": 0, **dict.fromkeys(FAILURE_KINDS, 0),
                                                      "judged": 0, "request": 0, "english": 0})
        group["n"] += 1
        group["right"] += details["outcome"] == "correct"
        kind = FAILURES.get(details["outcome"])
        if kind:
            group[kind] += 1
        arguments = details.get("arguments") or {}
        for name in ("judged", "request", "english"):
            group[name] += int(arguments.get(name) or 0)
    return slices


def slices(runs: list[Run], labels: list[str]) -> pd.DataFrame:
    """The rows of the module docstring, for every unit whose records carry tool-call outcomes."""
    import pandas as pd

    rows = []
    for run, label in zip(runs, labels, strict=True):
        for (task, lang), unit in run.units.items():
            if unit.get("kind") != "generate" or not unit.get("tool_format"):
                continue
            records = run.samples(task, lang)
            for by, key in (("category", lambda d: d.get("category")), ("request", lambda d: d.get("request_lang"))):
                for name, group in sorted(_tally(records, key).items()):
                    low, high = wilson_interval(group["right"], group["n"])
                    judged = group["judged"]
                    rows.append({"model": label, "task": task, "lang": lang, "by": by, "slice": name, "n": group["n"],
                                 "accuracy": group["right"] / group["n"], "ci_low": low, "ci_high": high,
                                 **{k: group[k] for k in FAILURE_KINDS}, "args_judged": judged,
                                 "args_request": group["request"] / judged if judged else float("nan"),
                                 "args_english": group["english"] / judged if judged else float("nan")})
    return pd.DataFrame(rows, columns=COLUMNS)


def _share(value: float) -> str:
    return "–" if value != value else f"{100 * value:.0f}%"


def rows(frame: pd.DataFrame) -> list[list[str]]:
    """The table's cells as text (Markdown and HTML)."""
    return [[r["model"], r["task"], r["lang"], r["by"], r["slice"], str(r["n"]),
             f"{100 * r['accuracy']:.1f} [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]",
             *(str(r[k]) for k in FAILURE_KINDS), str(r["args_judged"]), _share(r["args_request"]),
             _share(r["args_english"])] for _, r in frame.iterrows()]
