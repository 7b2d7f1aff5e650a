"""The prompt templates (`*.md` beside this file), shipped in the wheel as package data.

Read through `importlib.resources`, so they are found in an installed wheel as well as in a
source checkout; `rag.prompts.render` renders them.
"""

from __future__ import annotations

import re
from importlib.resources import files

SUFFIX = ".md"
# Template names are plain words: a name can never reach outside this package.
NAME = re.compile(r"[A-Za-z0-9_-]+")


def template_names() -> list[str]:
    """The names of the shipped templates (file names without `.md`), sorted."""
    return sorted(
        entry.name.removesuffix(SUFFIX)
        for entry in files(__name__).iterdir()
        if entry.is_file() and entry.name.endswith(SUFFIX)
    )


def template_source(name: str) -> str:
    """The text of template `name`; `FileNotFoundError` when no such template ships."""
    entry = files(__name__) / f"{name}{SUFFIX}"
    if not NAME.fullmatch(name) or not entry.is_file():
        raise FileNotFoundError(f"no prompt template {name!r} in package {__name__!r}")
    return entry.read_text(encoding="utf-8")
