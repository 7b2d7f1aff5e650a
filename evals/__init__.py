"""`newsdesk eval`: question sets, their metrics, reports and floors that gate a run.

Imports only `rag` and `index`: whatever needs settings (an engine) is passed in by the
`newsdesk` CLI, the one place that wires settings to objects.
"""
