"""The bottom layer: facts every other layer shares (languages, records, metrics, errors, tokens, sampling).

Imports nothing from the rest of octoglot."""
