"""Settings of the index's components: the embedding model, the Chroma store and ingest.

Plain models with no environment reading: `newsdesk.settings` reads the environment at the
entry points and hands each component its own group. A field's alias is its flat setting name
(`NEWSDESK_<ALIAS>` in the environment, the keyword the CLI overrides it with).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Group(BaseModel):
    """A settings group: fields accept their short name or their flat alias."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    @classmethod
    def flat_names(cls) -> dict[str, str]:
        """Flat setting name (the alias, else the field name) to field name."""
        return {(info.alias or name): name for name, info in cls.model_fields.items()}


class EmbeddingSettings(Group):
    """Which model embeds chunks and questions, and where it runs."""

    backend: Literal["auto", "onnx", "sentence-transformers", "openai"] = Field(
        default="auto",
        alias="embed_backend",
        description="Embedding backend: auto (ONNX for questions, PyTorch for documents), "
        "onnx, sentence-transformers or openai.",
    )
    model: str = Field(
        default="",
        alias="embed_model",
        description="Model folder (local backends) or model name (openai); empty = bundled MiniLM.",
    )
    model_cache_dir: Path = Field(
        default=Path("~/.cache/newsdesk"), description="Where the exported ONNX model is kept."
    )
    base_url: str = Field(
        default="http://127.0.0.1:8080/v1",
        alias="embed_base_url",
        description="OpenAI-compatible embedding endpoint.",
    )
    api_key: SecretStr = Field(
        default=SecretStr(""), alias="embed_api_key", description="API key for that endpoint."
    )
    batch_size: int = Field(
        default=64, ge=1, alias="embed_batch_size", description="Texts per embedding batch."
    )
    concurrency: int = Field(
        default=4,
        ge=1,
        alias="embed_concurrency",
        description="Embedding requests an ingest keeps in flight to an openai endpoint "
        "(local models embed one batch at a time).",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        alias="embed_device",
        description="Where local backends embed documents: auto (CUDA when a GPU is there), "
        "cpu or cuda.",
    )


class StoreSettings(Group):
    """Where the Chroma index lives: an embedded folder, or a Chroma server."""

    data_dir: Path = Field(
        default=Path(".newsdesk"), description="Folder holding the embedded Chroma index."
    )
    collection: str = Field(default="newsdesk", description="Chroma collection name prefix.")
    chroma_host: str | None = Field(
        default=None, description="Chroma server host; when set, the index lives on that server."
    )
    chroma_port: int = Field(default=8000, description="Chroma server port.")

    def resolved_data_dir(self) -> Path:
        """Absolute data folder."""
        return self.data_dir.expanduser().resolve()


class IngestSettings(Group):
    """How articles are cut into chunks, and which files are too big to read."""

    chunk_size: int = Field(default=400, ge=32, description="Chunk size in tiktoken tokens.")
    chunk_overlap: int = Field(default=80, ge=0, description="Overlap between chunks in tokens.")
    max_file_mb: float = Field(
        default=100.0, gt=0, description="Files larger than this many MB are skipped."
    )
    ingest_workers: int | None = Field(
        default=None,
        ge=0,
        description="Processes that clean and chunk articles while the ingest embeds and writes "
        "(unset: one per core, at most 4; 0: prepare in the ingest's own process).",
    )

    @property
    def max_bytes(self) -> int:
        """The file size limit in bytes."""
        return int(self.max_file_mb * 1_000_000)
