"""Reading calls from model text: BFCL's Python syntax through ``ast`` (never evaluated), the JSON of chat templates
and tool-call APIs, and everything else as no call or a malformed one."""

from __future__ import annotations

import pytest

from harness.tasks.tool_calls import parse, string_values

# (text, form, calls)
CASES = [
    ("[math.hypot(x=4, y=5)]", "python", [{"math.hypot": {"x": 4, "y": 5}}]),
    ("math.hypot(x=4, y=5)", "python", [{"math.hypot": {"x": 4, "y": 5}}]),
    ("[f(a=-1.5, b='x'), g(c=[1, 2], d={'k': (1, 2)})]", "python",
     [{"f": {"a": -1.5, "b": "x"}}, {"g": {"c": [1, 2], "d": {"k": (1, 2)}}}]),
    ("[f(unit=celsius, flag=True, none=None)]", "python", [{"f": {"unit": "celsius", "flag": True, "none": None}}]),
    ("[f(x=3 * 4)]", "python", [{"f": {"x": "3 * 4"}}]),  # an expression is kept as text, never computed
    ("[f(x=__import__('os').system('true'))]", "python", [{"f": {"x": "__import__('os').system('true')"}}]),
    ("```python\n[f(a=1)]\n```", "python", [{"f": {"a": 1}}]),
    ("<think>first f, then g</think>[f(a=1)]", "python", [{"f": {"a": 1}}]),
    ("[f(a=1)]\nThat is the call.", "python", [{"f": {"a": 1}}]),  # the first line when the rest is prose
    ('{"name": "f", "arguments": {"a": 1}}', "json", [{"f": {"a": 1}}]),
    ('{"name": "f", "parameters": {"a": "x"}}', "json", [{"f": {"a": "x"}}]),
    ('[{"name": "f", "arguments": "{\\"a\\": 1}"}, {"f2": {"b": 2}}]', "json", [{"f": {"a": 1}}, {"f2": {"b": 2}}]),
    ('<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>', "json", [{"f": {"a": 1}}]),
    ('<|python_tag|>{"name": "f", "parameters": {"a": 1}}', "json", [{"f": {"a": 1}}]),
    ('{"tool_calls": [{"name": "math_hypot", "arguments": "{\\"x\\": 4}"}]}', "json", [{"math_hypot": {"x": 4}}]),
    ('[{"name": "f", "description": "Does f.", "parameters": {"type": "dict", "properties": {"a": {"type": "int"}}}}]',
     "echo", []),  # the function documents repeated: no call
    ('\n[{"name": "f", "description": "Does f.", "parameters": {"type": "dict", "properties": {"a": {"type": "int',
     "echo", []),  # cut off at the token budget
    ('{"name": "f", "arguments": {"parameters": {"type": "dict"}}}', "json",
     [{"f": {"parameters": {"type": "dict"}}}]),  # a call whose argument happens to look like a schema: still a call
    ("I cannot answer that with these functions.", "none", []),
    ("", "none", []),
    ("[]", "none", []),
    ("[f(1, 2)]", "malformed", []),  # positional arguments: BFCL's syntax names them
    ("[f(a=1]", "malformed", []),
    ('{"name": "f", "arguments": [1]}', "malformed", []),
    ("{not json", "malformed", []),
]


@pytest.mark.parametrize("text, form, calls", CASES, ids=[c[0][:40] for c in CASES])
def test_parse(text, form, calls):
    parsed = parse(text)
    assert (parsed.form, parsed.calls) == (form, calls), parsed.error


def test_only_the_api_envelope_marks_api_names():
    assert parse('{"tool_calls": []}').openai_names and not parse('{"name": "f", "arguments": {}}').openai_names


def test_string_values_are_found_inside_lists_and_dicts():
    calls = [{"f": {"a": "Paris", "b": ["x y", 3], "c": {"k": "v w"}}}]
    assert string_values(calls) == ["Paris", "x y", "v w"]
