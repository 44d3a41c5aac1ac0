import json

import pytest

from harness.execution import models
from harness.core.errors import OctoglotError


@pytest.mark.parametrize("text, expected", [
    (None, {}),
    ("", {}),
    ("pretrained=/m,dtype=float32", {"pretrained": "/m", "dtype": "float32"}),
    (" a = 1 , b=2,", {"a": "1", "b": "2"}),
])
def test_parse_model_args(text, expected):
    assert models.parse_model_args(text) == expected


@pytest.mark.parametrize("bad", ["pretrained", "=x", "a=1,oops"])
def test_bad_model_args_is_one_line_naming_the_flag(bad):
    with pytest.raises(OctoglotError, match=r"^--model-args: expected key=value pairs"):
        models.parse_model_args(bad)


def test_unknown_model_suggests_a_backend_or_alias():
    with pytest.raises(OctoglotError) as err:
        models.resolve("smolm2", None)
    assert "Did you mean 'smollm2'" in str(err.value) and str(err.value).startswith("--model: unknown model")


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OCTOGLOT_CACHE", str(tmp_path))
    assert models.cache_dir() == tmp_path
    monkeypatch.delenv("OCTOGLOT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.cache_dir() == tmp_path / "xdg" / "octoglot"


def test_sha256_file(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert models.sha256_file(tmp_path / "f") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.slow
def test_gguf_conversion_is_cached_by_sha256(model_cache, monkeypatch):
    """The session fixture converted SmolLM2 for real; a second call must not convert again."""
    gguf = models.locate_gguf(models.ALIASES["smollm2"])
    digest = models.sha256_file(gguf)
    folder = model_cache / "models" / digest
    marker = json.loads((folder / models.CONVERTED_MARKER).read_text())
    assert marker["gguf_sha256"] == digest and marker["dtype"] == "float32"
    assert (folder / "config.json").is_file() and list(folder.glob("*.safetensors"))
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError("second call converted again")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)
    assert models.convert_gguf(gguf, model_cache) == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert not list((model_cache / "models").glob(".*tmp*"))  # no half-written folders left


@pytest.mark.slow
def test_converted_folder_loads_and_scores_like_a_causal_lm(model_cache, monkeypatch):
    monkeypatch.setenv("OCTOGLOT_CACHE", str(model_cache))
    spec = models.resolve("smollm2", "max_length=512")
    assert spec.backend == "hf" and spec.args["max_length"] == "512" and spec.args["dtype"] == "float32"
    assert spec.identity["weights_sha256"] == models.sha256_file(models.locate_gguf(models.ALIASES["smollm2"]))
    from lm_eval.api.instance import Instance

    lm = models.load(spec, batch_size=2, device="cpu")
    out = lm.loglikelihood([Instance("loglikelihood", {}, ("The capital of France is", " Paris"), 0),
                            Instance("loglikelihood", {}, ("The capital of France is", " banana"), 1)],
                           disable_tqdm=True)
    (paris, _), (banana, _) = out
    assert paris < 0 and banana < 0 and paris > banana + 2  # a real pretrained model knows this
