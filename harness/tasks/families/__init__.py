"""Task families: one module per family, each declaring its tasks (found by harness.tasks.registry)."""
