"""The code family: extraction golden cases (base completions and chat answers), the assembled test program,
HumanEval's entry points from the English prompts, data errors, pass@k, and the prompts in the target language."""

from __future__ import annotations

import math

import pytest

from conftest import SHARED_DATA, needs_data
from harness.core.programs import Attempt, Execution, Program
from harness.core.records import Sample
from harness.tasks.families import code

PROMPT = 'from typing import List\n\n\ndef helper(x):\n    return x\n\n\ndef add(a: int, b: int) -> int:\n    """Die Summe."""\n'
TEST = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
BODY = "    return helper(a) + b\n"
FUNC = "def add(a, b):\n    return a + b\n"

# (response, extracted code): the first fenced block that defines the entry point, else the raw response
EXTRACTION = [
    (BODY, BODY),  # a base model's completion of the body
    (f"```python\n{FUNC}```", FUNC),
    (f"Hier ist die Lösung:\n\n```python\n{FUNC}```\n\nErklärung: ...", FUNC),
    (f"```\n{FUNC}```", FUNC),  # no language tag
    (f"~~~py\n{FUNC}~~~\n", FUNC),  # tildes
    (f"```python\nimport math\n```\n\n```python\n{FUNC}```", FUNC),  # the first block that defines it
    (f"```python\n{FUNC}", FUNC),  # unclosed: cut by the token budget
    (f"```python\n{FUNC}```\n```python\ndef add(a, b):\n    return 0\n```", FUNC),  # the first one wins
    ("```python\nprint('hi')\n```", "```python\nprint('hi')\n```"),  # no block defines it: the raw response
    (f"  ```python\n{FUNC}  ```", FUNC),  # indented fences (a list item)
    ("", ""),
    (f"```python\nasync def add(a, b):\n    return a + b\n```", "async def add(a, b):\n    return a + b\n"),
    # a chat answer whose code contains a stop-string-like line is never cut: no stop sequence in chat mode
    (f"```python\n{FUNC}\n# done\ndef other():\n    pass\n```", f"{FUNC}\n# done\ndef other():\n    pass\n"),
]


@pytest.mark.parametrize("response, expected", EXTRACTION)
def test_extraction(response, expected):
    assert code.extract_code(response, "add") == expected


def test_a_completion_runs_after_the_whole_prompt():
    program = code.assemble(PROMPT, BODY, TEST, "add")
    assert program.startswith(PROMPT + BODY) and program.endswith(f"{TEST}\n\ncheck(add)\n")


def test_a_whole_function_runs_after_the_prompts_imports_and_helpers():
    program = code.assemble(PROMPT, FUNC, TEST, "add")
    assert "def helper(x)" in program and "from typing import List" in program
    assert '"""Die Summe."""' not in program  # the prompt's own (bodiless) entry point is replaced
    compile(program, "p.py", "exec")


def sample(prompt: str = PROMPT, canonical: str = BODY, data_error: str | None = None) -> Sample:
    meta = {"entry_point": "add", "prompt": prompt, "test": TEST, "canonical": canonical, "data_error": data_error}
    return Sample("HumanEval/x", "mhumaneval", "de", prompt, target="add", chat_prompt="...", meta=meta)


def test_a_data_error_is_never_run_and_has_no_metric():
    broken = sample(data_error="the prompt does not parse")
    assert code.program(broken, BODY) is None
    assert code.score(broken, Attempt(BODY, None, None)).metrics == {}


def test_score_reads_the_outcome():
    passed = Attempt(BODY, Program("x"), Execution("passed", 0.1))
    failed = Attempt(BODY, Program("x"), Execution("failed", 0.1))
    assert code.score(sample(), passed).metrics == {"pass@1": 1.0}
    assert code.score(sample(), failed).metrics == {"pass@1": 0.0}


@pytest.mark.parametrize("n, c, k, expected", [
    (1, 1, 1, 1.0), (1, 0, 1, 0.0), (10, 3, 1, 0.3), (10, 0, 5, 0.0), (10, 10, 5, 1.0),
    (5, 2, 2, 1 - math.comb(3, 2) / math.comb(5, 2)), (10, 8, 5, 1.0),  # n - c < k: every k-subset has a pass
])
def test_pass_at_k_is_humanevals_unbiased_estimator(n, c, k, expected):
    assert code.pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_refuses_impossible_counts():
    with pytest.raises(ValueError):
        code.pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        code.pass_at_k(3, 1, 4)


def test_draws_combine_into_pass_at_k_and_change_the_metric_facts():
    scored = [code.score(sample(), Attempt(BODY, Program("x"), Execution(o, 0.1)))
              for o in ("passed", "failed", "failed", "passed", "failed")]
    combined = code.combine(sample(), scored)
    assert combined.metrics == {"pass@1": pytest.approx(0.4), "pass@5": 1.0}
    assert [(m.name, m.kind) for m in code.metrics_for(1)] == [("pass@1", "binary")]
    assert [(m.name, m.kind) for m in code.metrics_for(10)] == [("pass@1", "continuous"), ("pass@5", "continuous"),
                                                                 ("pass@10", "continuous")]


def test_the_entry_point_is_the_last_function_of_the_prompt():
    assert code.last_function(PROMPT) == "add"
    assert code.last_function('def broken(x):\n    """unterminated\n') == "broken"  # falls back to the text
    assert code.last_function("x = 1\n") is None


@needs_data
def test_real_prompts_entry_points_and_chat_instruction():
    from harness.core.languages import parse_langs
    from harness.execution.plan import RunConfig, plan
    from harness.tasks.registry import get_task

    config = RunConfig(model="x", model_args=None, tasks=[get_task("mhumaneval"), get_task("humaneval_xl")],
                       langs=parse_langs("en,th,de"), limit=None, seed=1, output=".", data_dir=str(SHARED_DATA))
    units = {(u.task.id, u.lang): u for u in plan(config)[0]}
    th = {s.id: s for s in units["mhumaneval", "th"].samples}
    assert len(th) == 164 and th["HumanEval/10"].target == "make_palindrome"  # its helper is_palindrome comes first
    assert th["HumanEval/10"].chat_prompt.startswith("เขียนฟังก์ชัน Python") and "```python\n" in th["HumanEval/10"].chat_prompt
    assert th["HumanEval/78"].meta["data_error"] and not th["HumanEval/10"].meta["data_error"]
    de = units["mhumaneval", "de"].samples
    assert [s.id for s in de] == [s.id for s in units["mhumaneval", "en"].samples]  # parallel: the same ids
    xl = units["humaneval_xl", "de"].samples
    assert len(xl) == 80 and xl[2].target == "string_xor" and "Zeichenketten" in xl[2].prompt
