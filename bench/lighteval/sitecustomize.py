"""Offline workarounds for lighteval 0.13, loaded only into the lighteval processes that bench/vs_lighteval.py starts.

bench/vs_lighteval.py puts this folder first on ``PYTHONPATH`` of the lighteval child (in lighteval's own
virtual environment), so Python imports this file as ``sitecustomize`` at start-up. Nothing of octoglot's
code or environment is touched. Each patch is applied when the module it concerns is first imported
(a post-import hook), so a process that never imports that module pays nothing for it.

Symptoms without them (``HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1``, no network):

1. tinyBenchmarks.pkl: lighteval imports every built-in task module when it builds its task registry, even for
   a custom task. ``lighteval/tasks/tasks/tiny_benchmarks.py`` instantiates ``TinyCorpusAggregator`` at import,
   whose ``download()`` calls ``requests.get("https://raw.githubusercontent.com/felipemaiapolo/tinyBenchmarks/
   main/tinyBenchmarks/tinyBenchmarks.pkl")`` unless the file sits next to the module; offline that raises
   ``requests.exceptions.ConnectionError: HTTPSConnectionPool(host='raw.githubusercontent.com', port=443): Max
   retries exceeded ... NameResolutionError`` and ``lighteval accelerate`` exits 1 before loading the model.
   Patch: ``requests.get`` answers that one URL with a local HTTP 404 response, so ``download()`` writes nothing
   and goes on (the file is only read by the tiny* tasks' corpus metric, never used here).

2. NLTK punkt: ``lighteval/tasks/tasks/ifeval/instructions_utils.py`` calls ``nltk.download("punkt")`` and
   ``nltk.download("punkt_tab")`` at import when the data is missing; offline each one tries the network and
   prints ``[nltk_data] Error loading punkt: <urlopen error [Errno -2] Name or service not known>`` (not fatal:
   ``download`` returns False; a resolver that times out instead of failing makes it slow). The log-likelihood
   task here never tokenizes sentences. Patch: ``nltk.download`` returns False at once, without the network,
   and says on stderr what it skipped.

3. ``HfApi.list_models(model_name=...)``: ``lighteval/tasks/tasks/mt_bench/main.py`` builds its judge metric at
   import, and ``JudgeLLM.__init__`` (``lighteval/metrics/metrics_sample.py``) calls
   ``HfApi().list_models(model_name=judge_model_name)``; huggingface_hub 2.x has no ``model_name`` argument:
   ``TypeError: HfApi.list_models() got an unexpected keyword argument 'model_name'``, exit 1. Patch:
   ``model_name=`` is passed on as ``search=`` (its successor). ``list_models`` is a lazy generator, so nothing
   is requested from the hub: lighteval only tests that the generator object is truthy.

Not patched here: xxhash >= 4 (the details logger's ``xxhash.xxh64(doc.query)`` raises ``TypeError: Strings must
be encoded before hashing``) is handled by pinning ``xxhash<4`` in lighteval's venv, and lighteval's per-sample
cache landing in the model's folder by the model link and ``cache_dir``: both in bench/vs_lighteval.py's docstring.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

TINY_BENCHMARKS_URL = ("https://raw.githubusercontent.com/felipemaiapolo/tinyBenchmarks/main/tinyBenchmarks/"
                       "tinyBenchmarks.pkl")


def patch_requests(requests) -> None:
    real_get = requests.get

    def get(url, *args, **kwargs):
        if url == TINY_BENCHMARKS_URL:
            response = requests.models.Response()
            response.status_code = 404
            response.url = url
            response._content = b""
            return response
        return real_get(url, *args, **kwargs)

    requests.get = get


def patch_nltk(nltk) -> None:
    def download(info_or_id=None, *args, **kwargs):
        print(f"[vs_lighteval offline] nltk.download({info_or_id!r}) skipped", file=sys.stderr)
        return False

    nltk.download = download


def patch_hf_api(hf_api) -> None:
    real_list_models = hf_api.HfApi.list_models

    def list_models(self, *args, **kwargs):
        if "model_name" in kwargs:
            kwargs["search"] = kwargs.pop("model_name")
        return real_list_models(self, *args, **kwargs)

    hf_api.HfApi.list_models = list_models


PATCHES = {"requests": patch_requests, "nltk": patch_nltk, "huggingface_hub.hf_api": patch_hf_api}


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the modules in PATCHES through the other finders, then runs the patch once the module has loaded."""

    def find_spec(self, name, path=None, target=None):
        if name not in PATCHES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        self._loaders = getattr(self, "_loaders", {})
        self._loaders[name] = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self._loaders[spec.name].create_module(spec)

    def exec_module(self, module):
        name = module.__spec__.name
        self._loaders[name].exec_module(module)
        PATCHES.pop(name)(module)


sys.meta_path.insert(0, _AfterImport())
