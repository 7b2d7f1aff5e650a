"""Prompt templates shipped in the `prompts` package, rendered strictly: a missing variable fails."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined, UndefinedError

from prompts import template_source


class PromptError(KeyError):
    """A template referenced a variable the caller did not pass."""


def _load(name: str) -> tuple[str, None, Callable[[], bool]] | None:
    try:
        source = template_source(name)
    except FileNotFoundError:
        return None  # jinja turns this into TemplateNotFound
    # Templates ship with the package and never change while it runs: always up to date.
    return source, None, lambda: True


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # One Environment for the process: it keeps the compiled templates.
    return Environment(
        loader=FunctionLoader(_load),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )


def render(name: str, **variables: Any) -> str:
    """Render the template `prompts/<name>.md` with exactly the given variables.

    Raises `PromptError` when the template uses a variable not passed, and jinja's
    `TemplateNotFound` when no such template ships.
    """
    template = _environment().get_template(name)
    try:
        return str(template.render(**variables)).strip()
    except UndefinedError as exc:
        raise PromptError(f"prompt {name!r}: {exc.message}") from exc
