"""Prompt templates kept as files in `prompts/`, rendered strictly: a missing variable fails."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptError(KeyError):
    """A template referenced a variable the caller did not pass."""


@lru_cache(maxsize=32)
def _template(folder: str, name: str) -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(folder),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    return env.get_template(f"{name}.md")


def render(name: str, folder: Path = PROMPTS_DIR, **variables: Any) -> str:
    """Render `prompts/<name>.md` with exactly the given variables."""
    from jinja2 import UndefinedError

    try:
        return str(_template(str(folder), name).render(**variables)).strip()
    except UndefinedError as exc:
        raise PromptError(f"prompt {name!r}: {exc.message}") from exc
