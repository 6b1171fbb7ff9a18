"""Benchmarks of the tipline pipeline."""
