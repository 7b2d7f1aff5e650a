"""Newsdesk: cited answers over news corpora."""
