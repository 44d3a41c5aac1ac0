"""Tasks: packs, data loading, the registry and the task families (imports only from core)."""
