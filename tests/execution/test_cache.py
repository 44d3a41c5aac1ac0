from harness.execution.cache import ResponseCache, model_key, request_key


def test_model_key_depends_on_weights_and_output_relevant_args_only():
    identity = {"alias": "smollm2", "weights_sha256": "a" * 64}
    base = model_key("hf", {"pretrained": "/cache/x", "dtype": "float32"}, identity)
    assert base == model_key("hf", {"pretrained": "/elsewhere", "dtype": "float32", "batch_size": "8"}, identity)
    assert base != model_key("hf", {"pretrained": "/cache/x", "dtype": "bfloat16"}, identity)
    assert base != model_key("hf", {"pretrained": "/cache/x", "dtype": "float32"}, {**identity, "weights_sha256": "b" * 64})
    assert model_key("hf", {"pretrained": "org/a"}, {}) != model_key("hf", {"pretrained": "org/b"}, {})


def test_request_key_separates_models_kinds_and_requests():
    keys = {request_key("m1", "loglikelihood", ["a", " b"]), request_key("m2", "loglikelihood", ["a", " b"]),
            request_key("m1", "generate_until", ["a", " b"]), request_key("m1", "loglikelihood", ["a ", "b"])}
    assert len(keys) == 4


def test_entries_survive_reopening(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path, "m1")
    key = cache.key("loglikelihood", ["ctx", " x"])
    cache.put_many("loglikelihood", {key: [-1.5, True]})
    cache.close()
    again = ResponseCache(path, "m1")
    assert again.get_many([key, "missing"]) == {key: [-1.5, True]}
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
