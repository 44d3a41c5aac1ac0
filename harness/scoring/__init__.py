"""Scoring: statistics and aggregation of per-sample metrics."""
