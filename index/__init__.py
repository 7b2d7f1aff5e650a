"""Ingestion: load, clean, describe, chunk, embed and store news articles."""
