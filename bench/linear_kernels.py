"""MKL against oneDNN for a float32 linear layer on this CPU, at the shapes of SmolLM2-135M's forward calls: the
figures behind ``harness.execution.onednn.pays_off`` (which library the decoding loop's linear layers take), and a
way to compare two machines' matrix-product speed.

    python bench/linear_kernels.py [--repeats 50]

For each shape (rows × inputs → outputs: a decoding step's 16 or 80 rows through the attention and MLP layers and the
49,152-wide output layer, a prompt pass's 400, a flat scoring call's 4,096) prints the median microseconds of
``nn.Linear`` (PyTorch's default: MKL's sgemm) and of ``harness.execution.onednn``'s forward (oneDNN, as the
decoding loop calls it: rows padded to ``ROW_STEP``, cut at ``MAX_ROWS``), their ratio, and what ``pays_off`` says
for this CPU. Same weights, same inputs, both warm, alternating. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHAPES = [(16, 576, 1536), (80, 576, 1536), (80, 1536, 576), (80, 576, 576), (16, 576, 49152), (400, 576, 1536),
          (4096, 576, 1536)]


def main() -> int:
    import torch

    from harness.execution.onednn import _forward, pays_off

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per library and shape (median)")
    args = parser.parse_args()
    torch.manual_seed(0)
    vendor = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name")), "unknown CPU")
    print(f"{vendor}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}\n")
    print("| rows × inputs → outputs | MKL (µs) | oneDNN (µs) | oneDNN / MKL |")
    print("|---|---|---|---|")
    with torch.inference_mode():
        for rows, inputs, outputs in SHAPES:
            x = torch.randn(rows, inputs)
            layer = torch.nn.Linear(inputs, outputs, bias=False)
            calls = {"mkl": lambda: layer(x),
                     "onednn": lambda: _forward(layer, x)}
            times: dict[str, list[float]] = {name: [] for name in calls}
            repeats = max(5, args.repeats // 5) if rows * outputs > 10_000_000 else args.repeats
            for name, call in calls.items():  # warm both
                for _ in range(3):
                    call()
            for _ in range(repeats):
                for name, call in calls.items():
                    started = time.perf_counter()
                    call()
                    times[name].append(time.perf_counter() - started)
            mkl, onednn = (1e6 * statistics.median(times[name]) for name in ("mkl", "onednn"))
            print(f"| {rows} × {inputs} → {outputs:,} | {mkl:,.0f} | {onednn:,.0f} | {onednn / mkl:.2f} |")
    print(f"\nonednn.pays_off() on this CPU: {pays_off()} (the decoding loop's linear layers take "
          f"{'oneDNN' if pays_off() else 'MKL'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
