"""Benchmark scripts (run by hand, not collected by pytest); results in docs/performance.md."""
