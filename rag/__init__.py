"""Retrieval, answering, citation checks, conversation and evaluation."""
