"""A model's linear layers computed by oneDNN instead of MKL, for octoglot's own forward calls on the CPU.

PyTorch computes a float32 ``nn.Linear`` on the CPU with MKL's sgemm. On AMD CPUs MKL takes its AVX2 kernels even
where the CPU has AVX-512, and for the shapes of decoding steps and batched scoring (a few to a few hundred rows
against weights of 576-49,152 columns) it reaches about half of what oneDNN, which ships inside PyTorch, does with
the same weights (``torch._C._nn.mkldnn_linear`` takes the dense weight as it is: no copy, no extra memory).
Measured on this project's 2-core AMD EPYC machine (SmolLM2-135M's shapes, float32): 80 rows × 576 → 1,536
768 µs with MKL, 377 µs with oneDNN; the 49,152-wide output layer at 16 rows 16.2 ms and 5.5 ms.

The two libraries sum in different orders, so their results differ in the last bits (about 4e-6 of an output's
size); greedy outputs and log-likelihoods are compared with lm-eval's MKL ones in the tests and in
``bench/vs_lmeval.py``. Only octoglot's own calls (``decode``'s steps and prompt passes, ``prefix.score_batch``)
go through oneDNN, inside ``linear_layers``; lm-eval's own paths keep PyTorch's default, so the benchmark's peer
runs as users run it.
"""

from __future__ import annotations

import types


# oneDNN caches a primitive per shape, with working memory that grows with its rows (about 0.7 MB at 80 rows of
# SmolLM2's 576 → 1,536 layer, 1.9 MB at 1,000, 17 MB at 5,000; its cache holds 1,024 primitives). Each call's rows
# are therefore padded up to a multiple of ``ROW_STEP`` and cut into pieces of at most ``MAX_ROWS``: a few dozen
# shapes a layer in all, whatever the batches' sizes. (Past ~1,000 rows oneDNN is no faster than MKL anyway.)
ROW_STEP = 16
MAX_ROWS = 1024


def _forward(self, x):
    """``nn.Linear.forward`` through oneDNN: the input flattened to rows, padded and cut as above, converted to
    oneDNN's layout and back."""
    import torch

    shape = x.shape
    rows = x.reshape(-1, shape[-1])
    n = rows.shape[0]
    padded = -(-n // ROW_STEP) * ROW_STEP
    if padded != n:
        rows = torch.nn.functional.pad(rows, (0, 0, 0, padded - n))
    pieces = [torch._C._nn.mkldnn_linear(rows[start:start + MAX_ROWS].contiguous().to_mkldnn(), self.weight,
                                         self.bias).to_dense() for start in range(0, padded, MAX_ROWS)]
    out = pieces[0] if len(pieces) == 1 else torch.cat(pieces)
    return out[:n].view(*shape[:-1], -1)


def usable(model) -> bool:
    """Whether ``linear_layers`` applies: PyTorch built with oneDNN, and the model's weights float32 on the CPU
    (other dtypes and devices keep PyTorch's own kernels)."""
    import torch

    weight = next(model.parameters(), None)
    return (torch.backends.mkldnn.is_available() and weight is not None and weight.device.type == "cpu"
            and weight.dtype == torch.float32)


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
