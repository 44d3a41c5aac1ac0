"""Code generation, HumanEval-style, in every language: the problem's docstring is in the target language, the
program is Python, and every program runs in the sandbox (``harness.execution.sandbox``).

Tasks (items share HumanEval's ids across languages, so the consistency tables apply):

- ``mhumaneval``: mHumanEval, the 164 HumanEval problems machine-translated into the eight languages
  (``mHumanEval-max``); ``mhumaneval_expert``: its expert translations (fr it pt hi es; the files carry no ids:
  row i is ``HumanEval/i``); ``humaneval_xl``: HumanEval-XL's 80 Python problems (en de fr it pt es), a second,
  independent translation.
- The entry point (the function the tests call) is HumanEval's: the last function the English prompt defines
  (the pack's ``extra: english`` file; mHumanEval's files name none), or HumanEval-XL's own ``entry_point``; a
  translated prompt whose docstring broke still has the name from English.

Prompting: base models complete the function from its signature and docstring (the prompt itself; generation
stops at the next top-level ``def``/``class``/``if``/``print``/comment, HumanEval's stop sequences); instruct
models (chat template on) get the pack's ``code_instruction`` and the prompt in a fenced block, and answer with a
code block: no stop sequence cuts a chat answer (lm-eval's ``\\ndef`` stops give chat models near-zero scores, its
issues #2648 and #2764).

Extraction (``extract_code``): the first fenced block (```python, ``` or ~~~; an unclosed last block runs to the
end) that defines the entry point; else the raw response. Code that defines the entry point runs after the part of
the prompt before the entry point's ``def`` (its imports and helper functions, e.g. ``is_palindrome`` for
``make_palindrome``); code that does not (a base model's completion of the body) runs after the whole prompt.
Then the problem's tests and ``check(<entry point>)``.

Data errors: where the prompt with HumanEval's canonical solution does not parse (machine translation broke the
docstring: fr/hi #79, it #78, es #127, th #78 #79 in mHumanEval), the item is a data error, reported on its record
(``execution.outcome``: ``data_error``), never run and never counted as the model's failure (it has no metric).
Item 0's canonical solution lost its indentation in every mHumanEval file; its prompt is intact, so models are
scored on it, and the canonical-solution check (``canonical_program``) lists it as a data error of the solution.

Scoring: ``pass@1``, 1 when the program passed. With ``--samples N`` (N > 1, sampled at ``--temperature``) every
problem gets N programs and ``pass@k`` for k in 1, 5, 10, ... up to N is HumanEval's unbiased estimator
1 - C(n - c, k) / C(n, k) (c of the n programs passed), a per-problem value in [0, 1] whose mean is the score.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from typing import Mapping

from harness.core.errors import OctoglotError
from harness.core.metrics import Metric
from harness.core.programs import Attempt, Program
from harness.core.records import Generation, Sample, Scored
from harness.tasks.definition import TaskDef

CODE_LITERALS = ("code_instruction",)
CHAT_TEMPLATE = "{code_instruction}\n\n```python\n{prompt}```"
COMPLETION_STOPS = ("\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#")
GENERATION = Generation(max_new_tokens=512, until=COMPLETION_STOPS, chat_until=())
PASS_AT = (1, 5, 10, 20, 50, 100)

MHUMANEVAL_COLUMNS = ("prompt", "canonical_solution", "test")
XL_COLUMNS = ("task_id", "prompt", "entry_point", "test", "canonical_solution")

_FENCE = re.compile(r"^[ \t]*(```|~~~)[ \t]*([\w+.-]*)[^\n]*$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------- extraction

def fenced_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks of a Markdown answer, in order. A fence opens with ``` or ~~~
    (optionally a language) on a line of its own and closes with the same mark on a line of its own; an unclosed
    last block runs to the end of the text (an answer cut by the token budget)."""
    blocks, pos = [], 0
    while (opening := _FENCE.search(text, pos)) is not None:
        mark = opening.group(1)
        start = opening.end() + 1
        closing = re.compile(rf"^[ \t]*{re.escape(mark)}[ \t]*$", re.MULTILINE).search(text, start)
        if closing is None:
            blocks.append(text[start:])
            break
        blocks.append(text[start:closing.start()])
        pos = closing.end()
    return blocks


def defines(code: str, name: str) -> bool:
    return re.search(rf"^[ \t]*(async[ \t]+)?def[ \t]+{re.escape(name)}[ \t]*\(", code, re.MULTILINE) is not None


def extract_code(response: str, entry_point: str) -> str:
    """The code of a response (module docstring): the first fenced block that defines the entry point, else the
    raw response."""
    for block in fenced_blocks(response):
        if defines(block, entry_point):
            return block
    return response


def assemble(prompt: str, code: str, test: str, entry_point: str) -> str:
    """The whole test program for ``code`` (module docstring: what runs before the code)."""
    if defines(code, entry_point):
        match = re.search(rf"^[ \t]*(async[ \t]+)?def[ \t]+{re.escape(entry_point)}[ \t]*\(", prompt, re.MULTILINE)
        preamble = prompt[:match.start()] if match else "".join(
            line for line in prompt.splitlines(keepends=True) if line.startswith(("import ", "from ")))
        body = preamble.rstrip() + "\n\n" + code.strip("\n") + "\n"
    else:
        body = prompt + code
    return f"{body}\n\n{test}\n\ncheck({entry_point})\n"


# ---------------------------------------------------------------------------------------------- data

def last_function(prompt: str) -> str | None:
    """The name of the last top-level function a HumanEval prompt defines (its body is the model's to write)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(prompt + "    pass\n")
        names = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if names:
            return names[-1]
    except SyntaxError:
        pass
    found = re.findall(r"^def[ \t]+(\w+)[ \t]*\(", prompt, re.MULTILINE)
    return found[-1] if found else None


def _parses(source: str) -> bool:
    with warnings.catch_warnings():  # the docstrings' invalid escapes ("\d") are the data's, not ours to report
        warnings.simplefilter("ignore")
        try:
            ast.parse(source)
            return True
        except SyntaxError:
            return False


def _english_entry_points(extras: Mapping | None, task: str, lang: str) -> dict[str, str]:
    if not extras or "english" not in extras:
        raise OctoglotError(f"{task} ({lang}): needs the English problems for the entry points (the pack's "
                            "'extra: english' file, from a local data directory: --data-dir)")
    rows = extras["english"]
    out = {}
    for number, row in enumerate(rows):
        name = last_function(row.get("prompt", ""))
        if name is None:
            raise OctoglotError(f"{task} ({lang}): English item {number} defines no function")
        out[str(row.get("task_id") or f"HumanEval/{number}")] = name
    return out


def _sample(task: str, lang: str, item: str, row: dict, entry_point: str, literals: Mapping) -> Sample:
    prompt, canonical, test = row["prompt"], row["canonical_solution"], row["test"]
    data_error = None
    if not _parses(prompt + canonical):
        data_error = ("the prompt with the canonical solution does not parse (a damaged docstring in the data)"
                      if not _parses(prompt + "    pass\n") else None)
    chat = CHAT_TEMPLATE.format(code_instruction=literals["code_instruction"], prompt=prompt)
    meta = {"entry_point": entry_point, "prompt": prompt, "test": test, "canonical": canonical,
            "data_error": data_error}
    return Sample(item, task, lang, prompt, target=entry_point, chat_prompt=chat, meta=meta)


def mhumaneval_samples(rows: list[dict], literals: Mapping, lang: str, extras: Mapping | None = None,
                       task: str = "mhumaneval") -> list[Sample]:
    entry_points = _english_entry_points(extras, task, lang)
    samples = []
    for number, row in enumerate(rows):
        item = str(row.get("task_id") or f"HumanEval/{number}")  # the expert files carry no ids: row order
        if item not in entry_points:
            raise OctoglotError(f"{task} ({lang}): item {item} is not among the English problems")
        samples.append(_sample(task, lang, item, row, entry_points[item], literals))
    return samples


def mhumaneval_expert_samples(rows: list[dict], literals: Mapping, lang: str,
                              extras: Mapping | None = None) -> list[Sample]:
    if len(rows) != 164:
        raise OctoglotError(f"mhumaneval_expert ({lang}): expected the 164 HumanEval problems in order, got "
                            f"{len(rows)} rows")
    return mhumaneval_samples(rows, literals, lang, extras, task="mhumaneval_expert")


def humaneval_xl_samples(rows: list[dict], literals: Mapping, lang: str, extras: Mapping | None = None) -> list[Sample]:
    return [_sample("humaneval_xl", lang, str(row["task_id"]), row, str(row["entry_point"]), literals)
            for row in rows]


# ---------------------------------------------------------------------------------------------- scoring

def program(sample: Sample, response: str) -> Program | None:
    """The test program of a response, or None for a data error (never run)."""
    if sample.meta.get("data_error"):
        return None
    meta = sample.meta
    code = extract_code(response, meta["entry_point"])
    return Program(assemble(meta["prompt"], code, meta["test"], meta["entry_point"]), name=f"{sample.id}.py")


def canonical_program(sample: Sample) -> Program:
    """The problem's canonical solution as a test program (the data's own check: every one should pass)."""
    meta = sample.meta
    return Program(assemble(meta["prompt"], meta["canonical"], meta["test"], meta["entry_point"]),
                   name=f"{sample.id}.canonical.py")


def score(sample: Sample, attempt: Attempt) -> Scored:
    """``pass@1`` of one program; a data error has no metric (it is not the model's)."""
    if attempt.execution is None:
        return Scored({}, extracted=None)
    return Scored({"pass@1": float(attempt.execution.outcome == "passed")},
                  extracted=extract_code(attempt.response, sample.meta["entry_point"]))


def pass_at_k(n: int, c: int, k: int) -> float:
    """HumanEval's unbiased estimator of pass@k from n programs of which c passed: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def combine(sample: Sample, scored: list[Scored]) -> Scored:
    """``pass@k`` over the problem's n programs (data errors: none)."""
    if not scored or not scored[0].metrics:
        return Scored({}, extracted=None)
    n = len(scored)
    c = sum(int(s.metrics["pass@1"]) for s in scored)
    return Scored({f"pass@{k}": pass_at_k(n, c, k) for k in PASS_AT if k <= n}, extracted=scored[0].extracted)


PASS_GREEDY = Metric("pass@1", "binary", 1, description="the program passed its tests (greedy, one program)")


def metrics_for(draws: int) -> tuple[Metric, ...]:
    """Greedy: pass@1 of one program, 0 or 1. Sampled (``--samples N``): the estimates for k up to N."""
    if draws <= 1:
        return (PASS_GREEDY,)
    return tuple(Metric(f"pass@{k}", "continuous", 1, description=f"unbiased pass@{k} estimate from {draws} "
                        "programs per problem") for k in PASS_AT if k <= draws)


NOT_EXPORTABLE = ("the programs run in octoglot's sandbox (bubblewrap); lm-eval runs model code through "
                  "Hugging Face evaluate's code_eval, which its own docstring calls not a security sandbox")


def _task(id: str, description: str, build, columns: tuple[str, ...]) -> TaskDef:
    return TaskDef(id=id, description=description, kind="generate", build=build, score=score,
                   metrics=(PASS_GREEDY,), primary="pass@1", template=CHAT_TEMPLATE, literals=CODE_LITERALS,
                   columns=columns, parallel=True, generation=lambda sample: GENERATION, execute=program,
                   combine=combine, metrics_for=metrics_for, not_exportable=NOT_EXPORTABLE)


TASKS = (
    _task("mhumaneval", "mHumanEval: HumanEval's 164 problems, docstrings machine-translated; pass@1 in the sandbox",
          mhumaneval_samples, MHUMANEVAL_COLUMNS),
    _task("mhumaneval_expert", "mHumanEval, expert-translated docstrings (fr it pt hi es); pass@1 in the sandbox",
          mhumaneval_expert_samples, MHUMANEVAL_COLUMNS),
    _task("humaneval_xl", "HumanEval-XL Python, 80 problems, a second translation; pass@1 in the sandbox",
          humaneval_xl_samples, XL_COLUMNS),
)
