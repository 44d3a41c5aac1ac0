"""What a decoding step of ``harness.execution.decode`` costs on this machine, by its shape: the real model's forward
call over per-row buffers (``decode._RowCache``, row attention, oneDNN where ``onednn.pays_off``), timed at a grid of
rows × positions a row, and a least-squares fit of seconds = a + b · rows + c · positions.

    python bench/step_cost.py [--rows 2,8,14,20] [--widths 1,4,8,16] [--cached 400] [--repeats 5]

Prints the median milliseconds of each shape, then the fit: a (a step: reading the weights, the layers' calls), b (a
row: its attention over its cache), c (a position: the matrix products). The keys and values are random (the cost
does not depend on them); the model is smollm2. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    import torch

    from harness.execution import decode, onednn
    from harness.execution.plan import RunConfig
    from harness.execution.rows import row_attention
    from harness.execution.worker import ModelSettings, Worker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="2,8,14,20", help="rows a step (comma-separated)")
    parser.add_argument("--widths", default="1,4,8,16", help="positions a row (comma-separated)")
    parser.add_argument("--cached", type=int, default=400, help="positions already in each row's buffer")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls a shape (median, the first dropped)")
    args = parser.parse_args()
    config = RunConfig(model="smollm2", model_args=None, tasks=[], langs=[], limit=None, seed=1,
                       output=Path(tempfile.gettempdir()), data_dir=None, use_cache=False, local_only=True)
    model = Worker(ModelSettings.of(config)).engine.lm.model
    layers, heads = model.config.num_hidden_layers, model.config.num_key_value_heads
    size = model.config.hidden_size // model.config.num_attention_heads
    torch.manual_seed(0)
    shapes: list[tuple[int, int, float]] = []
    print(f"smollm2, {torch.get_num_threads()} threads, {args.cached} cached positions a row, oneDNN "
          f"{onednn.pays_off()}\n\n| rows | positions a row | ms |\n|---|---|---|")
    with torch.inference_mode(), onednn.linear_layers(model) if onednn.pays_off() else nullcontext():
        for rows in map(int, args.rows.split(",")):
            cache = decode._RowCache()
            for _ in range(rows):
                cache.buffers.append(torch.randn(layers, 2, heads, args.cached + 64, size) * 0.1)
                cache.lengths.append(args.cached)
            for width in map(int, args.widths.split(",")):
                ids = torch.randint(0, model.config.vocab_size, (1, rows * width))
                positions = torch.tensor([[args.cached + j for _ in range(rows) for j in range(width)]])
                times = []
                for _ in range(args.repeats + 1):
                    cache.step([width] * rows)
                    started = time.perf_counter()
                    with row_attention(model):
                        model(input_ids=ids, position_ids=positions, cache=cache, use_cache=True)
                    times.append(time.perf_counter() - started)
                    cache.step(None)
                shapes.append((rows, width, statistics.median(times[1:])))
                print(f"| {rows} | {width} | {1000 * shapes[-1][2]:.1f} |", flush=True)
    design = torch.tensor([[1.0, rows, rows * width] for rows, width, _ in shapes], dtype=torch.float64)
    seconds = torch.tensor([[t] for *_, t in shapes], dtype=torch.float64)
    step, row, position = (1000 * torch.linalg.lstsq(design, seconds).solution[:, 0]).tolist()
    print(f"\nfit: {step:.1f} ms a step + {row:.2f} ms a row + {position:.2f} ms a position")
    return 0


if __name__ == "__main__":
    sys.exit(main())
