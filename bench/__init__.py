"""Benchmarks behind ``mem3d bench``; each prints one JSON object of measured figures."""
