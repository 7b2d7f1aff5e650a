"""Gradio chat, embeddable view and HTTP API."""
