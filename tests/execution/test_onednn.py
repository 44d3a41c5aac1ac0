"""``harness.execution.onednn``: a model's linear layers through oneDNN give PyTorch's own results (to float
rounding) for every row count, with and without bias, and only while the context is open."""

import pytest
import torch

from harness.execution import onednn


@pytest.mark.parametrize("rows", [1, onednn.ROW_STEP - 1, onednn.ROW_STEP, onednn.ROW_STEP + 1, onednn.MAX_ROWS,
                                  onednn.MAX_ROWS + 3, 3 * onednn.MAX_ROWS + onednn.ROW_STEP + 5])
@pytest.mark.parametrize("bias", [False, True])
def test_a_linear_layer_through_onednn_gives_pytorchs_result(rows, bias):
    torch.manual_seed(rows)
    layer = torch.nn.Linear(96, 200, bias=bias)
    x = torch.randn(2, rows, 96)
    with torch.inference_mode():
        expected = layer(x)
        got = onednn._forward(layer, x)
    assert got.shape == expected.shape == (2, rows, 200)
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_the_context_patches_float32_linear_layers_and_restores_them():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    assert onednn.usable(model) == torch.backends.mkldnn.is_available()
    with onednn.linear_layers(model) as patched:
        assert len(patched.patched) == (2 if onednn.usable(model) else 0)
        assert all("forward" in vars(m) for m in patched.patched)
        out = model(torch.randn(3, 8))
    assert out.shape == (3, 4)
    assert not any("forward" in vars(m) for m in model.modules())


def test_other_dtypes_keep_pytorchs_kernels():
    model = torch.nn.Linear(8, 8).to(torch.bfloat16)
    assert not onednn.usable(model)
    with onednn.linear_layers(model) as patched:
        assert patched.patched == []


def test_onednn_is_taken_on_amd_cpus_only():
    amd = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
    intel = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n"
    assert onednn.pays_off(amd) and not onednn.pays_off(intel)
    assert not onednn.pays_off("processor\t: 0\n")  # no vendor line (an ARM kernel): PyTorch's default
    assert isinstance(onednn.pays_off(), bool)
