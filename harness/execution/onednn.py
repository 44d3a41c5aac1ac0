"""A model's linear layers computed by oneDNN instead of MKL, for octoglot's own forward calls on the CPU.

PyTorch computes a float32 ``nn.Linear`` on the CPU with MKL's sgemm. On AMD CPUs MKL takes its AVX2 kernels even
where the CPU has AVX-512, and for the shapes of decoding steps and batched scoring (a few to a few hundred rows
against weights of 576-49,152 columns) it reaches about half of what oneDNN, which ships inside PyTorch, does with
the same weights (``torch.ops.mkldnn._linear_pointwise`` takes the dense weight and input as they are: no copy, no
extra memory).
Measured on this project's 2-core AMD EPYC machine (SmolLM2-135M's shapes, float32): 80 rows × 576 → 1,536
768 µs with MKL, 377 µs with oneDNN; the 49,152-wide output layer at 16 rows 16.2 ms and 5.5 ms.

The two libraries sum in different orders, so their results differ in the last bits (about 4e-6 of an output's
size). Greedy outputs stay lm-eval's (the tests; ``bench/vs_lmeval.py``: 60/60 identical; the quick suite's 168
generations identical to the MKL loop's). Log-likelihoods summed over long options drift further: through oneDNN,
padded shared-prefix scoring differed from lm-eval's by up to 1.42e-4 over the benchmark's 1,500 requests (8.9e-5
with MKL); flat scoring (``prefix.score``, calls of up to 4,096 positions, where MKL is at its best) was slower
through oneDNN (59 s against 47 s) and further from lm-eval (1.7e-4 against 1.1e-4), so scoring keeps MKL. Only
``decode``'s steps and prompt passes go through oneDNN, inside ``linear_layers``, and only where ``pays_off``;
lm-eval's own paths keep PyTorch's default, so the benchmark's peer runs as users run it.
"""

from __future__ import annotations

import types


# oneDNN caches a primitive per shape, with working memory that grows with its rows (about 0.7 MB at 80 rows of
# SmolLM2's 576 → 1,536 layer, 1.9 MB at 1,000, 17 MB at 5,000; its cache holds 1,024 primitives). Each call's rows
# are therefore padded up to a multiple of ``ROW_STEP`` and cut into pieces of at most ``MAX_ROWS``: 16 shapes a
# layer in all, whatever the batches' sizes. Random calls of 1-4,096 rows through SmolLM2's four layer shapes
# (400 each) grew the process by 81 MB with pieces of 256 rows, 142 MB with 512, 286 MB with 1,024, in the same time.
ROW_STEP = 16
MAX_ROWS = 256


def _forward(self, x):
    """``nn.Linear.forward`` through oneDNN: the input flattened to rows and cut as above (``_product``). One piece
    (every decoding step) is returned as it comes; several are written into one output (an output layer's rows are
    vocabulary-wide)."""
    shape = x.shape
    rows = x.reshape(-1, shape[-1])
    if rows.shape[0] <= MAX_ROWS:
        return _product(self, rows).reshape(*shape[:-1], -1)
    out = rows.new_empty((rows.shape[0], self.out_features))
    for start in range(0, rows.shape[0], MAX_ROWS):
        piece = rows[start:start + MAX_ROWS]
        out[start:start + piece.shape[0]] = _product(self, piece)
    return out.reshape(*shape[:-1], -1)


def _product(layer, rows):
    """``rows`` (at most ``MAX_ROWS``) times the layer's weight, padded to a multiple of ``ROW_STEP``, by oneDNN's
    matrix product straight from and into PyTorch's dense layout (``mkldnn._linear_pointwise``, the operator
    PyTorch's own compiler emits for a CPU linear layer; the older ``mkldnn_linear`` wants its input converted to
    oneDNN's layout and its output converted back: two copies a call, most of a 49,152-wide output layer's time at
    decoding sizes, 52 against 34 ms at 96 rows, with bit-identical results)."""
    import torch

    n = rows.shape[0]
    if n % ROW_STEP:
        rows = torch.nn.functional.pad(rows, (0, 0, 0, ROW_STEP - n % ROW_STEP))
    return torch.ops.mkldnn._linear_pointwise(rows.contiguous(), layer.weight, layer.bias, "none", [], "")[:n]


def pays_off(cpuinfo: str | None = None) -> bool:
    """Whether oneDNN's linear layers beat MKL on this CPU (``cpuinfo``: the text of /proc/cpuinfo, read when None).
    Measured with SmolLM2's shapes on this project's 2-core machines: on an AMD EPYC (MKL on its AVX2 kernels)
    oneDNN took 377 µs where MKL took 768 (80 rows × 576 → 1,536); on an Intel Xeon with AVX-512 MKL is at its best
    and oneDNN was the slower, 1,059 against 913 µs (4,096 rows: 45.7 against 36.9 ms). AMD CPUs only; elsewhere
    PyTorch's default."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                cpuinfo = fh.read(8192)
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("vendor_id"):
            return line.split(":", 1)[-1].strip() == "AuthenticAMD"
    return False


def usable(model) -> bool:
    """Whether ``linear_layers`` applies: PyTorch built with oneDNN, and the model's weights float32 on the CPU
    (other dtypes and devices keep PyTorch's own kernels)."""
    import torch

    weight = next(model.parameters(), None)
    return (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
            and weight is not None and weight.device.type == "cpu" and weight.dtype == torch.float32)


class linear_layers:
    """While open: every float32 ``nn.Linear`` of ``model`` on the CPU runs through oneDNN (``_forward``, set on
    the module itself, removed on exit). Nothing changes where ``usable`` says no."""

    def __init__(self, model):
        self.model = model
        self.patched: list = []

    def __enter__(self):
        import torch

        if usable(self.model):
            for module in self.model.modules():
                if type(module) is torch.nn.Linear and module.weight.dtype == torch.float32:
                    module.forward = types.MethodType(_forward, module)
                    self.patched.append(module)
        return self

    def __exit__(self, *exc):
        for module in self.patched:
            del module.forward
        self.patched = []
        return False
