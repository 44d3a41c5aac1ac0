"""The one rule for which model arguments are credentials: refused on the command line, never written anywhere.

A name is a credential when its last word ends in key, token, secret, password or passwd (``api_key``,
``auth_token``, ``hf_token``, ``client_secret``, ``password``), unless the word before it names a kind of
token (``add_bos_token``, ``pad_token``) or the name is one of lm-eval's model arguments about tokens
(``tokenizer``, ``tokenized_requests``: their last words do not end in a credential word).
"""

from __future__ import annotations

import re

CREDENTIAL_WORDS = ("key", "token", "secret", "password", "passwd")
TOKEN_KINDS = ("bos", "eos", "pad", "unk", "sep", "cls", "mask", "prefix")  # add_bos_token: a token, not a secret
REDACTED = "<redacted>"


def is_credential(name: str) -> bool:
    """Does a model-arg name look like a credential (api_key, auth_token, hf_token, client_secret, password)?"""
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    if not words or (len(words) > 1 and words[-2] in TOKEN_KINDS):
        return False
    return words[-1].endswith(CREDENTIAL_WORDS)


def redact(args: dict[str, str]) -> dict[str, str]:
    """Model args as a run records them: credentials (``is_credential``) replaced by ``<redacted>``."""
    return {k: (REDACTED if is_credential(k) else v) for k, v in args.items()}
