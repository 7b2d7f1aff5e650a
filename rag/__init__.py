"""Retrieval, answering, citation checks and conversation."""
