"""Interop: export to other tools, parity checks against lm-eval, backend checks."""
