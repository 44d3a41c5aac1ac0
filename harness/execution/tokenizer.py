"""The model's tokenizer for tasks that size their prompts in its tokens (``harness.core.tokens.Sizer``), and the
tokenizer fertility of each language (tokens per FLORES-200 sentence against English's).

Counting follows what the run will send: the user message in the model's chat template when the template is on
(as ``worker.ChatRenderer`` renders it), encoded as lm-eval's ``hf`` backend encodes a generation context (the
tokenizer's special tokens, unless the text already starts with the BOS token). The window is lm-eval's
``max_length`` for the backend: ``max_length=`` (or vLLM's ``max_model_len=``) from ``--model-args``, else the
model config's ``n_positions`` / ``max_position_embeddings`` / ``n_ctx`` (``lm_eval.models.utils.resolve_max_length``);
API backends without ``max_length=`` get lm-eval's 2,048. lm-eval left-truncates a longer context without an error,
so a prompt is never built longer than the window.

Only a tokenizer is loaded here (``AutoTokenizer``, ``AutoConfig``), never weights; it must be a fast tokenizer
(character offsets).
"""

from __future__ import annotations

import hashlib
import statistics
from pathlib import Path

from harness.core.errors import OctoglotError
from harness.execution import models

API_DEFAULT_WINDOW = 2048  # lm-eval's TemplateAPI default max_length


class HFSizer:
    """``harness.core.tokens.Sizer`` on a transformers fast tokenizer."""

    def __init__(self, tokenizer, window: int, chat: bool, identity: dict):
        self.tokenizer, self.window, self.chat, self.identity = tokenizer, window, chat, identity
        self._bos = getattr(tokenizer, "bos_token", None)

    def facts(self) -> dict:
        return {**self.identity, "window": self.window, "chat_template": self.chat}

    def render(self, message: str) -> str:
        if not self.chat:
            return message
        return self.tokenizer.apply_chat_template([{"role": "user", "content": message}], tokenize=False,
                                                  add_generation_prompt=True)

    def offsets(self, text: str) -> list[tuple[int, int]]:
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [tuple(span) for span in encoded["offset_mapping"]]

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def count(self, message: str) -> int:
        text = self.render(message)
        special = not (self._bos and text.startswith(self._bos))
        return len(self.tokenizer(text, add_special_tokens=special)["input_ids"])


def _tokenizer_source(spec: models.ModelSpec) -> str:
    source = spec.args.get("tokenizer") or spec.args.get("pretrained") or spec.args.get("model")
    if not source:
        raise OctoglotError(f"--model {spec.name}: long-context tasks size prompts in the model's tokens and need "
                            "its tokenizer: add tokenizer=<Hugging Face id or folder> to --model-args")
    return source


def _window(spec: models.ModelSpec, source: str, tokenizer) -> int:
    given = spec.args.get("max_length") or spec.args.get("max_model_len")
    if given:
        try:
            return int(given)
        except ValueError:
            raise OctoglotError(f"--model-args: max_length: expected a token count, got '{given}'") from None
    if spec.backend not in ("hf", "vllm", "hf-auto", "huggingface"):
        return API_DEFAULT_WINDOW
    from lm_eval.models.utils import resolve_max_length
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(spec.args.get("pretrained") or source)
    return resolve_max_length(config, tokenizer)


def load_sizer(spec: models.ModelSpec, chat: bool) -> HFSizer:
    """The sizer of a resolved model; a missing or slow tokenizer is a one-line error."""
    from transformers import AutoTokenizer

    source = _tokenizer_source(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise OctoglotError(f"--model {spec.name}: cannot load the tokenizer from '{source}': "
                            f"{str(exc).splitlines()[0]}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise OctoglotError(f"--model {spec.name}: the tokenizer of '{source}' is not a fast tokenizer; long-context "
                            "tasks need its character offsets")
    if chat and not getattr(tokenizer, "chat_template", None):
        raise OctoglotError(f"--model {spec.name}: the chat template is on but the tokenizer of '{source}' has none "
                            "(--no-apply-chat-template)")
    identity = {"tokenizer": source if not Path(source).is_dir() else spec.identity.get("alias", source),
                "vocab_sha256": _vocab_digest(tokenizer)}
    return HFSizer(tokenizer, _window(spec, source, tokenizer), chat, identity)


def _vocab_digest(tokenizer) -> str:
    """A short digest of the tokenizer's vocabulary and merges (the backend's JSON), so two runs can tell whether they
    counted with the same tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    blob = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def fertility(sizer: HFSizer, sentences_by_lang: dict[str, list[str]]) -> dict[str, dict]:
    """Mean tokens per sentence of each language's FLORES-200 devtest, and that mean over English's (the same
    sentences translated: how much less text of a language the same window holds)."""
    means = {}
    for lang, sentences in sentences_by_lang.items():
        counts = [len(ids) for ids in sizer.tokenizer(sentences, add_special_tokens=False)["input_ids"]]
        means[lang] = statistics.fmean(counts) if counts else 0.0
    english = means.get("en")
    return {lang: {"tokens_per_sentence": round(mean, 2),
                   "vs_english": round(mean / english, 3) if english else None,
                   "sentences": len(sentences_by_lang[lang])}
            for lang, mean in means.items()}
