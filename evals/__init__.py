"""Evaluation and benchmarks: question sets, metrics, reports, RealTimeQA and the processes they run.

Imports only `rag` and `index`: whatever needs settings (an engine, an ingest) is passed in by
the `newsdesk` CLI, the one place that wires settings to objects.
"""
