"""The question-set format of `newsdesk eval`, and loading it with every problem named.

A question set is YAML or JSON (documented in the README):
    name: seed corpus checks
    questions:
      - id: substation
        question: Where was equipment at a key substation hit?      # or turns: [q1, q2, ...]
        filters: {outlet: Al Jazeera, since: 2025-08-01}             # optional; also until, as_of
        answerable: true                                             # default true
        expect: {sources: [{doc: 001_c81ca98ac9a2360a}], facts: [Sumy, [gas transport, gas infrastructure]]}
The whole file is checked before anything runs; metrics are defined in `evals.metrics`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from evals.metrics import Day, SourceSpec
from rag.types import Filters


def _alternatives(value: Any) -> Any:
    """A fact is a string or a list of alternative strings; YAML integers count as strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return value
    raise ValueError(
        f"each fact is a non-empty string or a list of them (alternatives), not {value!r}"
    )


Fact = Annotated[list[str], BeforeValidator(_alternatives)]


class _Strict(BaseModel):
    # strict: "yes" is not a bool and 12 is not a doc id; extra="forbid": typos in keys are errors
    model_config = ConfigDict(extra="forbid", strict=True)


class FilterSpec(_Strict):
    """Outlet and date filters applied to every turn of a question."""

    outlet: str | None = None
    since: Day | None = None
    until: Day | None = None
    as_of: Day | None = None  # the day the question is asked from

    def to_filters(self) -> Filters:
        """As the engine's `Filters`."""
        return Filters(outlet=self.outlet, since=self.since, until=self.until, as_of=self.as_of)


class Expect(_Strict):
    """What a right answer shows: an expected source in the top k, and facts in its text."""

    sources: list[SourceSpec] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)


class QuestionSpec(_Strict):
    """One question (or conversation) and what a right answer looks like."""

    id: str = Field(min_length=1)
    question: str | None = None
    turns: list[str] | None = None
    filters: FilterSpec = Field(default_factory=FilterSpec)
    answerable: bool = True
    expect: Expect = Field(default_factory=Expect)

    @property
    def asks(self) -> list[str]:
        """The questions asked in order; expectations apply to the last."""
        return list(self.turns) if self.turns else [self.question or ""]


class QuestionSet(_Strict):
    """A named list of questions."""

    name: str | None = None
    questions: list[QuestionSpec] = Field(min_length=1)


class _Loader(yaml.SafeLoader):
    """YAML without implicit dates, so a bad date reaches validation and is named there."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_question_set(path: Path) -> QuestionSet:
    """Read and check a question set; raises ValueError naming the question id and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the question set ({exc.strerror or exc})") from exc
    try:
        raw = (
            json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_Loader)
        )
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        # PyYAML ends a plain word at '?', ':' or ',' inside [...] or {...}: a trap for questions
        hint = (
            "; quote text inside [...] or {...} that holds '?', ':' or ','"
            if "flow" in str(exc)
            else ""
        )
        raise ValueError(f"{path}: not valid {kind}: {' '.join(str(exc).split())}{hint}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with 'name' and 'questions'")
    try:
        qset = QuestionSet.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"{path}: " + "; ".join(_describe(e, raw) for e in exc.errors())) from exc
    problems = _cross_checks(qset)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return qset.model_copy(update={"name": qset.name or path.stem})


def _describe(error: Any, raw: dict[str, Any]) -> str:
    loc, msg = list(error["loc"]), str(error["msg"]).removeprefix("Value error, ")
    msg = {"extra_forbidden": "unknown field", "missing": "required"}.get(error["type"], msg)
    where = ""
    if loc[:1] == ["questions"] and len(loc) > 1 and isinstance(loc[1], int):
        item = (raw.get("questions") or [None] * (loc[1] + 1))[loc[1]]
        qid = item.get("id") if isinstance(item, dict) else None
        where = (
            f"question {qid!r}: " if isinstance(qid, str) and qid else f"question #{loc[1] + 1}: "
        )
        loc = loc[2:]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return f"{where}field {field!r}: {msg}" if field else f"{where}{msg}"


def _cross_checks(qset: QuestionSet) -> list[str]:
    """Rules that span fields: question xor turns, no empty text, unique ids, sane filters."""
    problems: list[str] = []
    seen: set[str] = set()
    for q in qset.questions:
        where = f"question {q.id!r}"
        if (q.question is None) == (q.turns is None):
            which = "both" if q.question is not None else "neither"
            problems.append(
                f"{where}: field 'question': give 'question' or 'turns' (it has {which})"
            )
        elif any(not t.strip() for t in q.asks) or not q.asks:
            problems.append(
                f"{where}: field '{'turns' if q.turns is not None else 'question'}': empty"
            )
        if q.id in seen:
            problems.append(f"{where}: field 'id': duplicate id")
        seen.add(q.id)
        if not q.answerable and (q.expect.facts or q.expect.sources):
            problems.append(
                f"{where}: field 'expect': a question with answerable: false expects "
                "an abstention, not facts or sources"
            )
        f = q.filters
        if f.since and f.until and f.since > f.until:
            problems.append(f"{where}: field 'filters.since': {f.since} is after until {f.until}")
    return problems
