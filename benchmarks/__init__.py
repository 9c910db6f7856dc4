"""Benchmark scripts and the configuration-driven suite (``python -m benchmarks``)."""
