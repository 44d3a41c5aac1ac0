"""Execution: planning units, running models through lm-eval, caches, sandboxes, executors."""
