"""The speed benchmarks (`bench perf ...`): each prints a ratio against a reference
measured in the same run."""
