"""Benchmarks and their synthetic corpora (not part of the installed package)."""
