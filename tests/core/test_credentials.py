"""One rule for which model arguments are credentials: the same names refused on the command line are the ones a
run's manifest redacts, and lm-eval's arguments about tokens are neither."""

import pytest

from harness.core.credentials import REDACTED, is_credential, redact

ORDINARY = ("tokenizer", "tokenizer_backend", "tokenized_requests", "add_bos_token", "max_tokens", "max_gen_toks",
            "custom_prefix_token_id", "pretrained", "base_url", "model")
SECRETS = ("api_key", "API_KEY", "auth_token", "hf_token", "token", "client_secret", "password", "db-passwd",
           "openai_api_key")


@pytest.mark.parametrize("name", ORDINARY)
def test_token_arguments_are_not_credentials(name):
    assert not is_credential(name)


@pytest.mark.parametrize("name", SECRETS)
def test_credentials(name):
    assert is_credential(name)


def test_the_manifest_keeps_every_ordinary_argument_and_redacts_the_rest():
    args = {**{name: f"value-{name}" for name in ORDINARY}, "api_key": "sk-x", "hf_token": "hf_x"}
    shown = redact(args)
    assert {k: shown[k] for k in ORDINARY} == {k: args[k] for k in ORDINARY}  # tokenizer & co. survive
    assert shown["api_key"] == shown["hf_token"] == REDACTED
