"""How far is a correct 4-bit llama.cpp from the float32 reference, and how far is llama_cpp.server's echo?
The measurement behind ``harness.interop.backend_check.TOLERANCE``.

One command (from the repository root; needs ``pip install 'octoglot[serve]'``, which ``make test`` installs):

    .venv/bin/python bench/llama_cpp_agreement.py                  # SIB-200 + XCOPA, en de th it, 2 items

The same log-likelihood requests ``octoglot check-backend`` sends, scored three ways against the bundled SmolLM2
in float32 on transformers with shared-prefix scoring (the reference):

- the same weights on transformers through lm-eval's own per-request path (``--no-shared-prefix``): what
  ``octoglot check-backend --model hf --model-args pretrained=<the converted folder>`` compares;
- llama.cpp on the bundled Q4_1 GGUF, in process, computed correctly: ``Llama.eval`` on the reference's
  tokens, each continuation token scored from the logits before it;
- ``llama_cpp.server`` on the same GGUF (127.0.0.1, stopped by its PID) through lm-eval's
  ``local-completions`` with ``tokenized_requests=False``: what a user of that server gets;

printed as a Markdown table with ``harness.interop.backend_check.compare``'s figures and verdict.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def correct_llama_cpp(gguf: Path, lm, groups) -> list[list[tuple[float, bool]]]:
    import numpy as np
    from llama_cpp import Llama

    from harness.execution.prefix import encode

    llm = Llama(model_path=str(gguf), logits_all=True, n_ctx=4096, verbose=False)
    out = []
    for group in groups:
        scored = []
        for context, continuation in group:
            ctx, cont = encode(lm, context, continuation)
            tokens = ctx + cont
            llm.reset()
            llm.eval(tokens)
            logits = np.asarray(llm.scores[:len(tokens)], dtype=np.float64)
            total = 0.0
            for i in range(len(ctx), len(tokens)):
                row = logits[i - 1] - logits[i - 1].max()
                total += float(row[tokens[i]] - np.log(np.exp(row).sum()))
            scored.append((total, False))
        out.append(scored)
    return out


def served(gguf: Path, tokenizer: str, groups) -> list[list[tuple[float, bool]]]:
    from harness.execution.worker import ModelSettings, Worker

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        args = (f"base_url=http://127.0.0.1:{port}/v1/completions,model=smollm2,max_retries=1,timeout=120,"
                f"tokenizer_backend=huggingface,tokenizer={tokenizer},tokenized_requests=False")
        worker = Worker(ModelSettings("local-completions", args, 1, "cpu", 1234, None, False, False))
        return worker.engine.loglikelihood(groups)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> int:
    from harness.core import languages
    from harness.execution import models
    from harness.execution.plan import RunConfig, plan
    from harness.execution.worker import ModelSettings, Worker
    from harness.interop import backend_check
    from harness.tasks import registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="sib200,xcopa")
    parser.add_argument("--langs", default="en,de,th,it")
    parser.add_argument("--limit", type=int, default=2)
    args = parser.parse_args()

    config = RunConfig(model="smollm2", model_args=None, tasks=registry.parse_tasks(args.tasks),
                       langs=languages.parse_langs(args.langs), limit=args.limit, seed=1234, output=Path("."),
                       data_dir=None)
    units, _ = plan(config)
    groups = [s.loglikelihood_requests() for u in units for s in u.samples]
    reference = Worker(ModelSettings("smollm2", None, 8, "cpu", 1234, None, False, True))
    ref = reference.engine.loglikelihood(groups)
    lm = reference.engine.lm
    lengths, per = backend_check.continuation_lengths(lm, groups)
    gguf = models.locate_gguf(models.ALIASES["smollm2"])
    plain = Worker(ModelSettings("smollm2", None, 8, "cpu", 1234, None, False, False)).engine.loglikelihood(groups)
    rows = [("transformers without shared-prefix scoring (same weights)", plain),
            ("llama.cpp Q4_1, computed correctly (in-process eval)", correct_llama_cpp(gguf, lm, groups)),
            ("llama_cpp.server, local-completions, tokenized_requests=False", served(gguf, lm.tokenizer.name_or_path,
                                                                                    groups))]
    print(f"| backend | mean \\|Δ\\| per {per} | max \\|Δ\\| per {per} | max \\|Δ\\| per request | same option | verdict |")
    print("|---|---|---|---|---|---|")
    for name, got in rows:
        r = backend_check.compare(ref, got, lengths, backend_check.TOLERANCE)
        print(f"| {name} | {r['mean_per_token']:.3g} | {r['max_per_token']:.3g} | {r['max_abs_diff']:.3g} | "
              f"{r['argmax_agreement']:.0%} | {r['verdict']} |")
    print(f"\n{r['requests']} requests; tolerance {backend_check.TOLERANCE} nats per {per} (mean)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
