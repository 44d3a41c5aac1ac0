"""Reporting: leaderboards, comparisons and their files, read from stored run directories."""
