"""Benchmarks run against the real system (`make bench`)."""
