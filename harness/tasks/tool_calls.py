"""A model's function calls, read from its text without ever running it.

``parse(text)`` returns the calls in BFCL's decoded form, ``[{function name: {parameter: value}}]``, with the form it
found them in:

- ``"python"``: BFCL's prompting syntax ``[func(a=1, b="x"), other.func(c=[1, 2])]`` (brackets optional; when the
  whole answer does not parse, its first line alone, for calls followed by prose), read with
  ``ast.parse`` and turned into values node by node (constants, lists, tuples, dicts, negative numbers): never
  ``eval``. A bare name (``celsius``) is read as its text, as BFCL reads it; an expression (``3 * 4``, a nested
  call) is kept as its source text, so it matches only an answer written the same way (BFCL evaluates such
  expressions; octoglot does not evaluate model text).
- ``"json"``: the JSON that chat templates with tools and tool-call APIs produce: ``{"name": ..., "arguments": {...}}``
  (or ``"parameters"``; arguments may be a JSON string), ``{"function": {...}}``, BFCL's own ``{name: {params}}``, a
  list of those, or ``{"tool_calls": [...]}`` (an OpenAI-compatible server's calls, as octoglot's model layer writes
  them; their names had ``.`` replaced by ``_`` on the way out, ``openai_names`` says so).
- ``"none"``: no call (prose, an empty answer); ``"echo"``: no call either, the answer repeats the function documents
  it was given (JSON objects with a ``description`` and a ``parameters`` schema: small models do this often, whole
  or cut off); ``"malformed"``: something that tries to be a call and does not parse (``error`` says why).

Before parsing, ``<think>`` blocks, Markdown code fences, and the wrappers some chat templates use (``<tool_call>``,
``<|python_tag|>``, ``[TOOL_CALLS]``) are removed.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_TOOL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_WRAPPERS = ("<|python_tag|>", "[TOOL_CALLS]", "<|eom_id|>", "<|eot_id|>")
_CALL_START = re.compile(r"\[?\s*[A-Za-z_][\w.]*\s*\(")
# a function document as the prompt shows it: "parameters": {"type": "dict" (BFCL) or "object" (JSON schema)
_DOCUMENT = re.compile(r'"parameters"\s*:\s*\{\s*"type"\s*:\s*"(?:dict|object)"')


@dataclass(frozen=True)
class Parsed:
    calls: list[dict] = field(default_factory=list)  # [{name: {param: value}}]
    form: str = "none"  # "python", "json", "none", "echo" or "malformed"
    error: str | None = None  # why a malformed answer did not parse
    openai_names: bool = False  # names came through a tool-call API ("." sent as "_")


def _clean(text: str) -> str:
    text = _THINK.sub("", text or "")
    if "<think>" in text:  # an unfinished thought: nothing after it is an answer
        text = text.split("<think>", 1)[0]
    tags = _TOOL_TAG.findall(text)
    if tags:
        text = "[" + ",".join(tags) + "]" if len(tags) > 1 else tags[0]
    fences = _FENCE.findall(text)
    if fences:
        text = "\n".join(fences)
    for wrapper in _WRAPPERS:
        text = text.replace(wrapper, "")
    return text.strip().strip("`").strip()


# --- JSON ------------------------------------------------------------------------------------------------------

def _json_call(obj: object) -> dict | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict) and "name" in obj["function"]:  # an OpenAI tool_calls entry
        obj = obj["function"]
    if isinstance(obj.get("name"), str):
        args = obj.get("arguments", obj.get("parameters", {}))
        if isinstance(args, str):
            args = json.loads(args) if args.strip() else {}
        if not isinstance(args, dict):
            raise ValueError(f"arguments of {obj['name']} are not an object")
        return {obj["name"]: args}
    if len(obj) == 1:  # BFCL's decoded form {name: {params}}
        (name, args), = obj.items()
        if isinstance(args, dict):
            return {name: args}
    return None


def _from_json(text: str) -> Parsed | None:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None
    openai = isinstance(obj, dict) and "tool_calls" in obj
    if openai:
        obj = obj["tool_calls"] or []
    items = obj if isinstance(obj, list) else [obj]
    if not items:  # an empty list: no call
        return Parsed(openai_names=openai)
    try:
        calls = [_json_call(item) for item in items]
    except (ValueError, json.JSONDecodeError) as exc:
        return Parsed([], "malformed", f"JSON call: {exc}")
    if any(c is None for c in calls):
        if not items or not any(isinstance(i, dict) for i in items):
            return None
        return Parsed([], "malformed", "JSON without a function name and arguments")
    return Parsed(calls, "json", openai_names=openai)


# --- Python call syntax ------------------------------------------------------------------------------------------

def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    raise ValueError(f"not a function name: {ast.unparse(node)}")


def _value(node: ast.AST) -> object:
    """A call argument's value, node by node; never evaluated."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List):
        return [_value(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_value(e) for e in node.elts)
    if isinstance(node, ast.Set):
        return [_value(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("** inside a dict")
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        try:
            return _name(node)  # BFCL reads a bare name as its text
        except ValueError:
            pass
    return ast.unparse(node)  # an expression: its source text, never its value


def _python_call(node: ast.AST) -> dict:
    if not isinstance(node, ast.Call):
        raise ValueError(f"not a call: {ast.unparse(node)[:60]}")
    name = _name(node.func)
    if node.args:
        raise ValueError(f"{name}: positional arguments (calls name every argument)")
    if any(k.arg is None for k in node.keywords):
        raise ValueError(f"{name}: ** arguments")
    return {name: {k.arg: _value(k.value) for k in node.keywords}}


def _from_python(text: str) -> Parsed:
    source = text if text.startswith("[") else f"[{text}]"
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        return Parsed([], "malformed", f"not Python call syntax: {exc.msg}")
    body = tree.body
    elements = body.elts if isinstance(body, (ast.List, ast.Tuple)) else [body]
    try:
        return Parsed([_python_call(e) for e in elements], "python")
    except ValueError as exc:
        return Parsed([], "malformed", str(exc))


def _is_document(call: dict) -> bool:
    (args,) = call.values()
    return isinstance(args, dict) and isinstance(args.get("properties"), dict) and "type" in args


def parse(text: str | None) -> Parsed:
    """The calls in a model's answer (module docstring)."""
    cleaned = _clean(text or "")
    if not cleaned:
        return Parsed()
    found = _parse(cleaned)
    if _DOCUMENT.search(cleaned) and (found.form in ("none", "malformed")
                                      or any(_is_document(call) for call in found.calls)):
        return Parsed([], "echo", "the answer repeats the function documents")
    return found


def _parse(cleaned: str) -> Parsed:
    if cleaned[0] in "[{":
        found = _from_json(cleaned)
        if found is not None:
            return found
        if cleaned[0] == "{":
            return Parsed([], "malformed", "not valid JSON")
    if cleaned in ("[]", "()"):
        return Parsed()
    if _CALL_START.match(cleaned):
        found = _from_python(cleaned)
        first = cleaned.splitlines()[0].strip()
        if found.form == "malformed" and first != cleaned:  # calls on the first line, prose after them
            on_first = _from_python(first)
            if on_first.form == "python":
                return on_first
        return found
    return Parsed()  # prose: no call


def string_values(calls: list[dict]) -> list[str]:
    """Every string argument value of the calls, inside lists and dicts too (the values whose language is judged)."""
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)

    for call in calls:
        for args in call.values():
            walk(args)
    return out
