"""How function documents reach a model, decided by the model: a chat template that takes ``tools`` gets them
natively (the conversation alone in the messages), one that does not gets the documented prompt inside the chat,
a model without a chat template the plain prompt; a chat API gets them in the request's ``tools`` field. The worker
renders with the model's real tokenizer (the bundled SmolLM2's, its template swapped for a tools-aware one)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, tokenizer_dir
from harness.execution.worker import ModelSettings, Worker
from harness.tasks import packs
from harness.tasks.families import tool_calling as family
from harness.tasks.registry import get_task

# a chat template in the style of those that take tools (Llama 3.1's, Qwen's): the documents as JSON, then the turns
TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nYou may call these tools:\n{% for tool in tools %}{{ tool | tojson }}\n"
    "{% endfor %}<|im_end|>\n{% endif %}{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.fixture(scope="module")
def sample():
    rows = [json.loads(line) for line in (FIXTURES / "hub" / "massive_agents.de.jsonl").read_text("utf-8").splitlines()]
    pack = packs.load_pack("de")
    return family.massive_agents_samples(rows, {n: pack.literals[n] for n in family.LITERALS}, "de")[0]


def tokenizer_copy(model_cache: Path, tmp_path: Path, template: str | None) -> Path:
    source = tokenizer_dir(model_cache)
    folder = tmp_path / "tokenizer"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json", "chat_template.jinja"):
        if (source / name).is_file():
            shutil.copy(source / name, folder / name)
    if template is not None:
        (folder / "chat_template.jinja").write_text(template, encoding="utf-8")
    return folder


def worker(folder: Path, chat: bool | None, backend: str = "hf") -> Worker:
    return Worker(ModelSettings(backend, f"pretrained={folder}" if backend == "hf" else
                                f"model=m,base_url=http://127.0.0.1:9/v1/chat/completions,tokenizer={folder}",
                                1, "cpu", 1234, chat, False, True))


def test_a_template_that_takes_tools_gets_them_natively(model_cache, tmp_path, sample):
    w = worker(tokenizer_copy(model_cache, tmp_path, TOOLS_TEMPLATE), chat=True)
    task = get_task("massive_agents")
    ((context, kwargs),) = w.requests(task, sample)
    assert w.tool_format(task) == "the chat template's tools"
    assert '"name": "alarm.set"' in context and '"type": "object"' in context  # BFCL's "dict" as JSON schema
    assert sample.meta["instruction"] not in context  # the documented prompt is not sent beside native tools
    assert "<|im_start|>user\nweck mich diese woche um fünf uhr morgens auf<|im_end|>" in context
    assert "tools" not in kwargs  # a local model's generate takes no tools argument
    assert not w.engine.loaded  # rendering needed the tokenizer only


def test_a_template_without_tools_gets_the_documented_prompt(model_cache, tmp_path, sample):
    w = worker(tokenizer_copy(model_cache, tmp_path, None), chat=True)
    task = get_task("massive_agents")
    ((context, _),) = w.requests(task, sample)
    assert w.tool_format(task) == "documented prompt in the chat template"
    user = context.split("<|im_start|>user\n", 1)[1]
    assert user.startswith(sample.meta["instruction"]) and '"alarm.set"' in user
    assert user.split("<|im_end|>")[0].endswith("weck mich diese woche um fünf uhr morgens auf")


def test_without_a_chat_template_the_plain_prompt_is_sent(model_cache, tmp_path, sample):
    w = worker(tokenizer_copy(model_cache, tmp_path, TOOLS_TEMPLATE), chat=False)
    task = get_task("massive_agents")
    ((context, kwargs),) = w.requests(task, sample)
    assert context == sample.prompt and w.tool_format(task) == "documented prompt, plain text"
    assert kwargs["until"] == ["\n\n"]


def test_a_chat_api_gets_the_tools_field_with_names_it_accepts(model_cache, tmp_path, sample):
    w = worker(tokenizer_copy(model_cache, tmp_path, None), chat=True, backend="local-chat-completions")
    task = get_task("massive_agents")
    assert w.tool_format(task) == "tools field of the chat API"
    ((context, kwargs),) = w.requests(task, sample)
    assert json.loads(context.prompt) == [{"role": "user", "content": "weck mich diese woche um fünf uhr morgens auf"}]
    assert [t["function"]["name"] for t in kwargs["tools"]] == ["alarm_set", "weather_query", "play_music"]


def test_a_served_models_tool_calls_reach_the_scorer(tmp_path):
    """A whole run through lm-eval's ``local-chat-completions`` against an OpenAI-compatible server on 127.0.0.1
    (``tests/fault_server.py``, fault ``tools``: it answers a request carrying ``tools`` with a call of the first
    one, its required parameters set to "x"), MASSIVE-Agents read from the pinned hub revision in a local hub cache."""
    from conftest import octoglot
    from fault_server import FaultServer

    entry = packs.load_pack("de").tasks["massive_agents"]
    snapshot = (tmp_path / "hub" / "datasets--AmazonScience--massive-agents" / "snapshots" / entry.hub.revision
                / entry.hub.file)
    snapshot.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "hub" / "massive_agents.de.jsonl", snapshot)
    with FaultServer() as server:
        result = octoglot("run", "--model", "local-chat-completions", "--model-args",
                          f"base_url={server.url('tools')},model=m,max_retries=1,timeout=30",
                          "--apply-chat-template", "--tasks", "massive_agents", "--langs", "de", "--no-cache",
                          "--output", str(tmp_path / "runs"),
                          env={"HF_HUB_CACHE": str(tmp_path / "hub"), "OCTOGLOT_CACHE": str(tmp_path / "cache"),
                               "OCTOGLOT_DATA": ""})
        assert result.returncode == 0, result.stderr[-3000:]
        assert server.stats()["requests"]["tools"] == 3
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    records = {r["id"]: r for r in map(json.loads, (folder / "samples" / "de" / "massive_agents.jsonl")
                                       .read_text("utf-8").splitlines())}
    alarm = records["1"]
    assert json.loads(alarm["response"]) == {"tool_calls": [{"name": "alarm_set", "arguments": '{"time": "x"}'}]}
    # the API's name read back as BFCL's: the right function, a wrong value (not "wrong function")
    assert alarm["details"]["outcome"] == "wrong_value" and alarm["metrics"]["function_name"] == 1.0
    manifest = json.loads((folder / "manifest.json").read_text())
    (unit,) = manifest["units"]
    assert unit["tool_format"] == "tools field of the chat API" and unit["data"]["revision"] == entry.hub.revision
