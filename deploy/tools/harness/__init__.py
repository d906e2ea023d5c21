"""Run the targets as child processes on loopback, for the test suite and the benchmarks.

Nothing here is a test: no pytest, nothing from ``tests``.
"""
