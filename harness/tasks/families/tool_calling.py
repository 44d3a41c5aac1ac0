"""Tool calling, scored by BFCL's AST rules (``harness.tasks.call_checker``), with the language of each request and
of the model's argument values on every sample.

Tasks:

- ``bfcl``: BFCL v4's single-turn categories (``simple_python``, ``multiple``, ``parallel``, ``parallel_multiple``,
  ``irrelevance``, and the live ones: ``live_simple``, ``live_multiple``, ``live_parallel``,
  ``live_parallel_multiple``, ``live_irrelevance``, ``live_relevance``), from the English pack: the benchmark is
  English-dominated, and its few dozen live requests in our other languages are tagged with the detected language of
  the request (octoglot's seeded detector), so the report shows those slices with their own intervals.
  ``--limit N`` takes N seeded items per category.
- ``massive_agents``: MASSIVE-Agents (hub ``AmazonScience/massive-agents``), BFCL-format requests in every language
  (one call among the MASSIVE intents' functions, whose documents stay in English).

Prompting (the run's manifest records the format of every unit, ``tool_format``):

- ``api``: chat models behind an OpenAI-compatible endpoint get the function documents in the request's ``tools``
  field (BFCL's types written as JSON schema: ``dict`` → ``object``, ``float`` → ``number``, ``tuple`` → ``array``,
  ``any`` → ``string``; ``.`` in a name sent as ``_``, which the API requires, and read back);
- ``template``: local chat models whose chat template takes ``tools`` (Llama 3.1's does) get them through it;
- ``prompt``: every other model gets one documented prompt: the pack's ``tool_instruction`` (in the request's
  language), the function documents as JSON, then the conversation (``question`` / ``answer`` labels of the pack).
  Under a chat template the instruction and documents open the first user message (every template has a user
  role; lm-eval drops system messages where a template refuses them); without one (base models) the whole prompt is
  plain text ending in ``answer:``, and generation stops at a blank line.

Parsing (``harness.tasks.tool_calls``) reads BFCL's ``[func(a=1)]`` syntax with ``ast`` and the JSON of templates
and APIs; nothing is evaluated. An item whose ground truth fails its own checker is a data error (BFCL has five:
a required parameter the ground truth never gives, a parameter the document lacks): reported, never scored.

Metrics: ``bfcl`` (primary): BFCL v4's overall accuracy restricted to the single-turn categories it runs: the mean
of non-live AST (unweighted mean of its four categories; BFCL's "simple" also averages Java and JavaScript, which
octoglot does not run), live AST (weighted by items) and hallucination (mean of irrelevance and live irrelevance);
a part whose categories were not run counts 0, as in BFCL. Also ``accuracy`` (every item alike), ``non_live``,
``live``, ``hallucination``, ``relevance`` and ``function_name`` (the first call names the expected function; AST
categories only). ``massive_agents``: ``accuracy`` (primary) and ``function_name``, as the MASSIVE-Agents paper
reports AST and function-selection accuracy.

Every record's ``details``: the category, the request's language, the outcome (``correct``, ``no_call``,
``echo`` (no call: the function documents repeated), ``malformed``, ``wrong_function``, ``wrong_count``,
``missing_required``, ``unexpected_parameter``, ``wrong_type``,
``wrong_value``, ``missing_optional``, ``called``), the checker's reason, and the language of the string arguments
(``arguments``: values of two words or more, judged request language, English or other).
"""

from __future__ import annotations

import json
from typing import Mapping

from harness.core import langid
from harness.core.errors import OctoglotError
from harness.core.metrics import Metric
from harness.core.records import Generation, Sample, Scored
from harness.tasks import call_checker, tool_calls
from harness.tasks.definition import TaskDef

LITERALS = ("tool_instruction", "question", "answer")
CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance", "live_simple",
              "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance")
NON_LIVE = CATEGORIES[:4]
LIVE = CATEGORIES[5:9]
HALLUCINATION = ("irrelevance", "live_irrelevance")
BFCL_COLUMNS = ("id", "question", "function")
MASSIVE_COLUMNS = ("id", "question", "function", "gt")
GENERATION = Generation(max_new_tokens=384, until=("\n\n",), chat_until=())
TEMPLATE = "{tool_instruction}\n\n{functions}\n\n{conversation}\n{answer}:"
JSON_SCHEMA_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": "string"}
MIN_JUDGED_WORDS = 2  # argument values shorter than this are not language-judged (one word says too little)


def kind_of(category: str) -> str:
    """The checker's kind of a BFCL category (``call_checker.check``)."""
    if category.endswith("irrelevance"):
        return "irrelevance"
    if category.endswith("relevance"):
        return "relevance"
    if "parallel" in category:
        return "parallel"
    return "multiple" if "multiple" in category else "simple"


# --- prompts -----------------------------------------------------------------------------------------------------

def _functions_text(docs: list[dict]) -> str:
    # compact, as in BFCL's prompts (live documents run to thousands of tokens)
    return json.dumps(docs, ensure_ascii=False)


def _instruction(instruction: str, messages: list[dict]) -> str:
    """The pack's instruction, then the conversation's own system messages (BFCL's live items have some)."""
    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    return instruction + (f"\n\n{system}" if system else "")


def _plain_prompt(messages: list[dict], docs: list[dict], literals: Mapping) -> str:
    label = {"user": literals["question"], "assistant": literals["answer"]}
    conversation = "\n".join(f"{label.get(m['role'], m['role'])}: {m['content']}"
                             for m in messages if m["role"] != "system")
    return TEMPLATE.format(tool_instruction=_instruction(literals["tool_instruction"], messages),
                           functions=_functions_text(docs), conversation=conversation, answer=literals["answer"])


def _schema(value: object) -> object:
    """BFCL's parameter types as JSON schema, recursively (for ``tools`` fields and templates)."""
    if isinstance(value, dict):
        out = {k: _schema(v) for k, v in value.items()}
        if isinstance(out.get("type"), str):
            out["type"] = JSON_SCHEMA_TYPES.get(out["type"], out["type"])
        return out
    if isinstance(value, list):
        return [_schema(v) for v in value]
    return value


def api_name(name: str) -> str:
    """A function name as tool-call APIs accept it (letters, digits, ``_`` and ``-``): BFCL's ``.`` becomes ``_``."""
    return name.replace(".", "_")


def chat_messages(sample: Sample, mode: str) -> tuple[list[dict], list[dict] | None]:
    """What a chat model is sent: (messages, tools). ``mode``: ``api`` or ``template`` (tools sent natively, the
    conversation as it is), or ``prompt`` (the documented instruction and documents before the first request)."""
    meta = sample.meta
    messages, docs = meta["messages"], meta["functions"]
    if mode in ("api", "template"):
        tools = [{"type": "function", "function": {**_schema(doc), **({"name": api_name(doc["name"])}
                                                                       if mode == "api" else {})}} for doc in docs]
        return [dict(m) for m in messages], tools
    head = _instruction(meta["instruction"], messages) + "\n\n" + _functions_text(docs)
    rest = [dict(m) for m in messages if m["role"] != "system"]
    # the instruction and documents open the first user message: a template without a system role (lm-eval then
    # drops system messages) still shows them
    first = next((i for i, m in enumerate(rest) if m["role"] == "user"), None)
    if first is None:
        return [{"role": "user", "content": head}] + rest, None
    rest[first]["content"] = f"{head}\n\n{rest[first]['content']}"
    return rest, None


def _sample(task: str, lang: str, item: str, category: str, messages: list[dict], docs: list[dict],
            answers: list[dict] | None, literals: Mapping) -> Sample:
    kind = kind_of(category)
    error = call_checker.data_error(docs, answers, kind) if answers is not None else None
    prompt = _plain_prompt(messages, docs, literals)
    # the plain prompt holds everything every format derives from (instruction, documents, conversation): its hash
    # is the sample's prompt hash whatever the format
    return Sample(item, task, lang, prompt, target=item,
                  meta={"category": category, "kind": kind, "functions": docs, "answers": answers,
                        "messages": messages, "instruction": literals["tool_instruction"], "data_error": error})


def _messages(question: object, where: str) -> list[dict]:
    """BFCL's question (a list of turns, each a list of messages; single-turn: one) or MASSIVE-Agents' string."""
    if isinstance(question, str):
        return [{"role": "user", "content": question}]
    if isinstance(question, list) and len(question) == 1 and isinstance(question[0], list) and all(
            isinstance(m, dict) and {"role", "content"} <= m.keys() for m in question[0]):
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in question[0]]
    raise OctoglotError(f"{where}: question: expected one turn of {{role, content}} messages")


def _answers_by_id(rows: list[dict], where: str) -> dict[str, list[dict]]:
    out = {}
    for row in rows:
        if "id" not in row or not isinstance(row.get("ground_truth"), list):
            raise OctoglotError(f"{where}: expected rows with 'id' and a 'ground_truth' list")
        out[str(row["id"])] = row["ground_truth"]
    return out


def _unique_id(row: dict, seen: set[str], unit: str) -> tuple[str, str]:
    """The row's item id (refused when it occurred before) and where it is, for errors."""
    item = str(row["id"])
    where = f"{unit} item {item}"
    if item in seen:
        raise OctoglotError(f"{where}: id occurs twice")
    seen.add(item)
    return item, where


def bfcl_samples(rows: list[dict], literals: Mapping, lang: str, extras: Mapping | None = None) -> list[Sample]:
    """Every item of every category: ``rows`` are ``simple_python``'s questions, ``extras`` hold the other
    categories' questions (role = category) and the ground truths (role ``answers:<category>``)."""
    extras = extras or {}
    samples, seen = [], set()
    for category in CATEGORIES:
        questions = rows if category == "simple_python" else extras.get(category)
        if questions is None:
            raise OctoglotError(f"bfcl ({lang}): the pack entry has no file for category {category} "
                                f"(extra.{category})")
        answers = None
        if kind_of(category) not in ("irrelevance", "relevance"):
            role = f"answers:{category}"
            if role not in extras:
                raise OctoglotError(f"bfcl ({lang}): the pack entry has no ground truth for {category} "
                                    f"(extra.{role})")
            answers = _answers_by_id(extras[role], f"bfcl {role}")
        for row in questions:
            item, where = _unique_id(row, seen, f"bfcl {category}")
            if answers is not None and item not in answers:
                raise OctoglotError(f"{where}: no ground truth")
            samples.append(_sample("bfcl", lang, item, category, _messages(row["question"], where),
                                   list(row["function"]), answers[item] if answers is not None else None, literals))
    return samples


def massive_agents_samples(rows: list[dict], literals: Mapping, lang: str,
                           extras: Mapping | None = None) -> list[Sample]:
    samples, seen = [], set()
    for row in rows:
        item, where = _unique_id(row, seen, f"massive_agents ({lang})")
        gt = row["gt"]
        answers = gt if isinstance(gt, list) else [gt]
        if not all(isinstance(a, dict) and len(a) == 1 for a in answers):
            raise OctoglotError(f"{where}: gt: expected {{function name: {{parameter: [acceptable values]}}}}")
        category = str(row.get("test_category") or "multiple")
        samples.append(_sample("massive_agents", lang, item, category, _messages(row["question"], where),
                               list(row["function"]), answers, literals))
    if not samples:
        raise OctoglotError(f"massive_agents ({lang}): the data has no items")
    return samples


# --- scoring -----------------------------------------------------------------------------------------------------

def request_language(sample: Sample) -> str | None:
    """The language of the request: the last user message, by octoglot's seeded detector (BFCL), or the unit's
    language (MASSIVE-Agents, one locale per file)."""
    if sample.task != "bfcl":
        return sample.lang
    users = [m["content"] for m in sample.meta["messages"] if m["role"] == "user"]
    return langid.detect(users[-1]) if users else None


def argument_languages(values: list[str], request: str | None) -> dict:
    """How many string argument values (of ``MIN_JUDGED_WORDS`` words or more) are in the request's language, in
    English, or in another language."""
    counts = {"judged": 0, "request": 0, "english": 0, "other": 0}
    for value in values:
        if len(value.split()) < MIN_JUDGED_WORDS:
            continue
        found = langid.detect(value)
        if found is None:
            continue
        counts["judged"] += 1
        if found == request:
            counts["request"] += 1
        elif found == "en":
            counts["english"] += 1
        else:
            counts["other"] += 1
    return counts


def _outcome(parsed: tool_calls.Parsed, verdict: call_checker.Verdict, kind: str) -> str:
    if verdict.valid:
        return "correct"
    if parsed.form in ("malformed", "echo") and kind != "irrelevance":
        return parsed.form
    return verdict.error_type or "wrong"


def _statistics(category: str, correct: bool) -> list[float]:
    row = [0.0] * (2 * len(CATEGORIES))
    if category in CATEGORIES:
        index = CATEGORIES.index(category)
        row[2 * index], row[2 * index + 1] = float(correct), 1.0
    return row


def score(sample: Sample, response: str) -> Scored:
    meta = sample.meta
    if meta.get("data_error"):
        return Scored({}, details={"data_error": meta["data_error"], "category": meta["category"]})
    parsed = tool_calls.parse(response)
    calls = parsed.calls
    if parsed.openai_names:  # names came back as the API was sent them
        back = {api_name(d["name"]): d["name"] for d in meta["functions"]}
        calls = [{back.get(name, name): args for name, args in call.items()} for call in calls]
    kind = meta["kind"]
    verdict = call_checker.check(meta["functions"], calls, meta["answers"] or [], kind)
    correct = verdict.valid
    metrics = {"accuracy": float(correct)}
    if kind not in ("irrelevance", "relevance"):
        expected = next(iter(meta["answers"][0]))
        metrics["function_name"] = float(bool(calls) and expected in calls[0])
    request = request_language(sample)
    details = {"category": meta["category"], "request_lang": request, "outcome": _outcome(parsed, verdict, kind),
               "form": parsed.form, "error": verdict.error or parsed.error,
               "arguments": argument_languages(tool_calls.string_values(calls), request)}
    statistics = None
    if sample.task == "bfcl":
        row = _statistics(meta["category"], correct)
        statistics = {name: row for name in ("bfcl", "non_live", "live", "hallucination", "relevance")}
    names = [", ".join(call) for call in calls]
    return Scored(metrics, extracted="; ".join(names) if names else None, statistics=statistics, details=details)


# --- metrics -----------------------------------------------------------------------------------------------------

def _accuracy(sums, category: str) -> tuple[float, float]:
    index = CATEGORIES.index(category)
    return sums[2 * index], sums[2 * index + 1]


def _unweighted(sums, categories) -> float:
    shares = [c / n if n else 0.0 for c, n in (_accuracy(sums, cat) for cat in categories)]
    return sum(shares) / len(shares)


def _weighted(sums, categories) -> float:
    pairs = [_accuracy(sums, cat) for cat in categories]
    total = sum(n for _, n in pairs)
    return sum(c for c, _ in pairs) / total if total else 0.0


def _non_live(sums) -> float:
    return _unweighted(sums, NON_LIVE)


def _live(sums) -> float:
    return _weighted(sums, LIVE)


def _hallucination(sums) -> float:
    return _unweighted(sums, HALLUCINATION)


def _relevance(sums) -> float:
    return _weighted(sums, ("live_relevance",))


def _overall(sums) -> float:
    return (_non_live(sums) + _live(sums) + _hallucination(sums)) / 3


ACCURACY = Metric("accuracy", "binary", 1, description="the calls match the ground truth by BFCL's AST rules "
                  "(every item alike)")
FUNCTION_NAME = Metric("function_name", "binary", 1, description="the first call names the expected function "
                       "(function selection; AST categories)")
BFCL_METRICS = (
    Metric("bfcl", "corpus", 1, description="BFCL v4 overall on its single-turn categories: mean of non-live AST, "
           "live AST and hallucination", from_statistics=_overall),
    ACCURACY,
    Metric("non_live", "corpus", 1, description="non-live AST: unweighted mean of simple_python, multiple, parallel, "
           "parallel_multiple", from_statistics=_non_live),
    Metric("live", "corpus", 1, description="live AST: the four live AST categories weighted by items",
           from_statistics=_live),
    Metric("hallucination", "corpus", 1, description="irrelevance: no call where none applies (mean of irrelevance "
           "and live_irrelevance)", from_statistics=_hallucination),
    Metric("relevance", "corpus", 1, description="live_relevance: at least one call where one applies",
           from_statistics=_relevance),
    FUNCTION_NAME,
)

NOT_EXPORTABLE = ("lm-eval has no BFCL task: its AST rules and tool prompts live in octoglot "
                  "(harness.tasks.call_checker)")


def _generation(sample: Sample) -> Generation:
    return GENERATION


TASKS = (
    TaskDef(id="bfcl", description="BFCL v4 single-turn function calling (AST rules), requests tagged by language",
            kind="generate", build=bfcl_samples, score=score, metrics=BFCL_METRICS, primary="bfcl",
            template=TEMPLATE, literals=LITERALS, columns=BFCL_COLUMNS, generation=_generation,
            not_exportable=NOT_EXPORTABLE, messages=chat_messages, limit_per=lambda s: s.meta["category"]),
    TaskDef(id="massive_agents", description="MASSIVE-Agents function calling in every language (BFCL AST rules)",
            kind="generate", build=massive_agents_samples, score=score, metrics=(ACCURACY, FUNCTION_NAME),
            primary="accuracy", template=TEMPLATE, literals=LITERALS, columns=MASSIVE_COLUMNS, parallel=False,
            generation=_generation, not_exportable=NOT_EXPORTABLE, messages=chat_messages),
)
