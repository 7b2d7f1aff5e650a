"""The settings, read from the environment and `.env` at entry points only, one group a component.

Every variable keeps its flat name: `NEWSDESK_<NAME>`, where NAME is the group field's flat
alias (`NEWSDESK_CHUNK_SIZE` is `ingest.chunk_size`, `NEWSDESK_LLM` is `answer.mode`), plus
`CHROMA_HOST`/`CHROMA_PORT`. Flat keywords work in code too: `Settings(top_k=3)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from index.settings import EmbeddingSettings, Group, IngestSettings, StoreSettings
from rag.settings import AnswerSettings, LLMSettings, RetrievalSettings
from ui.settings import ServerSettings

PREFIX = "NEWSDESK_"
# Names Chroma's own tools use, read before the prefixed ones.
BARE_NAMES = {"chroma_host": "CHROMA_HOST", "chroma_port": "CHROMA_PORT"}


class Settings(BaseSettings):
    """Every knob Newsdesk has, by component; `.env.example` documents each variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    corpus_dir: Path = Field(
        default=Path(__file__).resolve().parent / "corpus",
        description="Default folder for `newsdesk ingest`.",
    )
    embedding: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description="The embedding model."
    )
    store: StoreSettings = Field(default_factory=StoreSettings, description="The Chroma index.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Chunking.")
    retrieval: RetrievalSettings = Field(
        default_factory=RetrievalSettings, description="Retrieval."
    )
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description="Answering.")
    llm_endpoint: LLMSettings = Field(
        default_factory=LLMSettings, description="The LLM endpoint (NEWSDESK_LLM_*)."
    )
    server: ServerSettings = Field(default_factory=ServerSettings, description="The server.")

    @model_validator(mode="before")
    @classmethod
    def _group_flat_names(cls, data: Any) -> Any:
        """Move flat keys (`top_k`, `llm`) into their groups (`retrieval`, `answer`)."""
        if not isinstance(data, dict):
            return data
        out = {k: v for k, v in data.items() if k not in FLAT_NAMES or k in GROUPS}
        for name, value in data.items():
            if name in FLAT_NAMES and name not in GROUPS:
                group, field = FLAT_NAMES[name]
                out[group] = _merged(out.get(group), {field: value})
        return out

    def replace(self, **flat: Any) -> Settings:
        """A copy with some settings changed, by flat name (`data_dir=...`), validated.

        A name that is no setting is an error rather than silently ignored.
        """
        unknown = sorted(set(flat) - set(FLAT_NAMES) - {"corpus_dir"})
        if unknown:
            raise ValueError(f"no such setting: {', '.join(unknown)}")
        return type(self).model_validate({**self.model_dump(), **flat})

    @property
    def data_dir(self) -> Path:
        """The index folder (embedded mode)."""
        return self.store.data_dir

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keywords first, then the environment, then `.env`; all by flat name."""
        keywords = getattr(init_settings, "init_kwargs", {})
        return (
            FlatKeywords(settings_cls, spread_groups(keywords)),
            FlatVariables(settings_cls, getattr(env_settings, "env_vars", {})),
            FlatVariables(settings_cls, getattr(dotenv_settings, "env_vars", {})),
        )


GROUPS: dict[str, type[Group]] = {
    name: info.annotation
    for name, info in Settings.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, Group)
}
# flat name -> (group, field); top-level fields are their own flat names.
FLAT_NAMES: dict[str, tuple[str, str]] = {
    flat: (group, field)
    for group, model in GROUPS.items()
    for flat, field in model.flat_names().items()
}


def variable_names(flat: str) -> list[str]:
    """The environment variables a flat setting is read from, first found wins."""
    bare = [BARE_NAMES[flat]] if flat in BARE_NAMES else []
    return [*bare, f"{PREFIX}{flat.upper()}"]


def variable_for(location: tuple[int | str, ...]) -> str:
    """The environment variable behind a validation error's location, e.g. NEWSDESK_LLM."""
    names = [str(part) for part in location]
    if len(names) >= 2 and names[0] in GROUPS:
        flat = next((f for f, place in FLAT_NAMES.items() if place == tuple(names[:2])), names[1])
        return variable_names(flat)[-1]
    return variable_names(names[0])[-1] if names else "?"


def spread_groups(values: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords with any whole group given in code spread into its flat names.

    Then every source speaks flat names, and their order alone decides: a group passed in code
    beats the environment for the fields it sets, as any keyword does.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        model = GROUPS.get(key)
        if model is None or not isinstance(value, Group | dict):
            out[key] = value
            continue
        given = value.model_dump(exclude_unset=True) if isinstance(value, Group) else value
        flat_of = {name: flat for flat, name in model.flat_names().items()}
        out.update({flat_of.get(name, name): v for name, v in given.items()})
    return out


class FlatKeywords(PydanticBaseSettingsSource):
    """Settings given as keywords in code, already by flat name."""

    def __init__(self, settings_cls: type[BaseSettings], keywords: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.keywords = keywords

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: the keywords are returned whole by `__call__`."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.keywords)


class FlatVariables(PydanticBaseSettingsSource):
    """Settings from environment-style variables (already loaded), by flat name."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        # pydantic-settings loads them lower-cased (names are case-insensitive).
        self.variables = {str(k).lower(): v for k, v in variables.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: values are looked up by flat name in `__call__`."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for flat in [*FLAT_NAMES, "corpus_dir"]:
            for name in variable_names(flat):
                if self.variables.get(name.lower()) is not None:
                    found[flat] = self.variables[name.lower()]
                    break
        return found


def _merged(group: Any, values: dict[str, Any]) -> dict[str, Any]:
    """A group's values (a dict, a model or nothing) with `values` on top."""
    if isinstance(group, Group):
        group = group.model_dump()
    return {**(group or {}), **values}
