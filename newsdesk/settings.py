"""The one typed settings object, read from the environment and `.env` at entry points only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob Newsdesk has; `.env.example` documents each variable."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSDESK_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        default=Path(".newsdesk"), description="Folder holding the embedded Chroma index."
    )
    corpus_dir: Path = Field(
        default=PROJECT_ROOT / "corpus", description="Default folder for `newsdesk ingest`."
    )
    collection: str = Field(default="newsdesk", description="Chroma collection name prefix.")
    chroma_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CHROMA_HOST", "NEWSDESK_CHROMA_HOST"),
        description="Chroma server host; when set, the index lives on that server.",
    )
    chroma_port: int = Field(
        default=8000,
        validation_alias=AliasChoices("CHROMA_PORT", "NEWSDESK_CHROMA_PORT"),
        description="Chroma server port.",
    )
    embed_backend: Literal["auto", "onnx", "sentence-transformers", "openai"] = Field(
        default="auto",
        description="Embedding backend: auto (ONNX for questions, PyTorch for documents), "
        "onnx, sentence-transformers or openai.",
    )
    model_cache_dir: Path = Field(
        default=Path("~/.cache/newsdesk"), description="Where the exported ONNX model is kept."
    )
    embed_model: str = Field(
        default="",
        description="Model folder (local backends) or model name (openai); empty = bundled MiniLM.",
    )
    embed_base_url: str = Field(
        default="http://127.0.0.1:8080/v1", description="OpenAI-compatible embedding endpoint."
    )
    embed_api_key: str = Field(default="", description="API key for the embedding endpoint.")
    embed_batch_size: int = Field(default=64, ge=1, description="Texts per embedding batch.")
    chunk_size: int = Field(default=400, ge=32, description="Chunk size in tiktoken tokens.")
    chunk_overlap: int = Field(default=80, ge=0, description="Overlap between chunks in tokens.")
    max_file_mb: float = Field(
        default=100.0, gt=0, description="Files larger than this many MB are skipped."
    )
    top_k: int = Field(default=6, ge=1, description="Passages retrieved per question.")
    answer_sentences: int = Field(
        default=3, ge=1, description="Most sentences in an extractive answer."
    )
    llm: Literal["extractive", "openai", "ollama"] = Field(
        default="extractive", description="Answer mode: extractive, openai (compatible) or ollama."
    )
    llm_base_url: str = Field(
        default="http://127.0.0.1:11434/v1", description="Base URL of the LLM endpoint."
    )
    llm_model: str = Field(default="llama3.1", description="Model name at the LLM endpoint.")
    llm_api_key: str = Field(default="", description="API key for the LLM endpoint.")
    llm_timeout: float = Field(default=30.0, gt=0, description="Seconds before an LLM call fails.")
    llm_retries: int = Field(default=1, ge=0, description="Retries after a failed LLM call.")
    llm_context_window: int = Field(
        default=8192, ge=1024, description="Model context window in tokens."
    )
    llm_max_answer_tokens: int = Field(
        default=512, ge=32, description="Tokens reserved for the LLM's answer."
    )
    support_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Minimum support score for a citation to pass."
    )
    host: str = Field(default="127.0.0.1", description="Address `newsdesk serve` listens on.")
    port: int = Field(default=7860, description="Port `newsdesk serve` listens on.")
    api_token: str = Field(default="", description="Bearer token the API requires; empty = open.")
    auth: str = Field(default="", description="UI basic auth as user:password[,user:password].")
    cors_origins: str = Field(default="", description="Comma-separated origins allowed by CORS.")
    frame_ancestors: str = Field(
        default="'self'", description="CSP frame-ancestors: sites that may embed /embed."
    )
    max_question_chars: int = Field(default=1000, ge=1, description="Longest accepted question.")
    max_history_turns: int = Field(default=20, ge=0, description="Most history turns accepted.")
    rate_limit_per_minute: int = Field(
        default=120, ge=1, description="API requests per minute per client."
    )
    concurrency: int = Field(default=8, ge=1, description="Questions answered at once.")

    def resolved_data_dir(self) -> Path:
        """Absolute data folder."""
        return self.data_dir.expanduser().resolve()
