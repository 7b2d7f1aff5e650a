"""Wiring: the one place settings become objects. Entry points call these; nothing else reads settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from index.embedding import Embedder, make_embedder
from index.ingest import IngestOptions, Ingestor
from index.store import ChromaStore, open_client
from newsdesk.settings import Settings

if TYPE_CHECKING:
    from rag.engine import Newsdesk
    from rag.llm import ChatModel


def build_store(settings: Settings) -> ChromaStore:
    """The Chroma store the settings point at (embedded folder or server)."""
    client = open_client(settings.resolved_data_dir(), settings.chroma_host, settings.chroma_port)
    return ChromaStore(client, settings.collection)


def build_embedder(settings: Settings) -> Embedder:
    """The embedding backend the settings choose."""
    return make_embedder(
        settings.embed_backend,
        settings.embed_model,
        settings.model_cache_dir.expanduser(),
        settings.embed_batch_size,
        base_url=settings.embed_base_url,
        api_key=settings.embed_api_key,
    )


def build_ingestor(
    settings: Settings, prune: bool = False, progress: bool = True, embedder: Embedder | None = None
) -> Ingestor:
    """An ingestor writing into the configured store."""
    options = IngestOptions(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        max_bytes=int(settings.max_file_mb * 1_000_000),
        prune=prune,
        progress=progress,
        batch_size=settings.embed_batch_size,
    )
    return Ingestor(build_store(settings), embedder or build_embedder(settings), options)


def build_llm(settings: Settings) -> ChatModel | None:
    """The LLM client for `openai` or `ollama` answer modes; None in extractive mode."""
    if settings.llm == "extractive":
        return None
    from rag.llm import LlamaIndexChat

    return LlamaIndexChat(
        settings.llm,
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_api_key,
        settings.llm_timeout,
        settings.llm_retries,
        settings.llm_context_window,
        settings.llm_max_answer_tokens,
    )


def build_newsdesk(
    settings: Settings, embedder: Embedder | None = None, llm: ChatModel | None = None
) -> Newsdesk:
    """The answering engine with its store, retriever, support check and LLM."""
    from rag.citations import SupportChecker
    from rag.engine import Newsdesk
    from rag.retrieve import HybridRetriever

    embedder = embedder or build_embedder(settings)
    return Newsdesk(
        HybridRetriever(build_store(settings), embedder),
        SupportChecker(embedder.embed_query, settings.support_threshold),
        llm=llm or build_llm(settings),
        mode=settings.llm,
        top_k=settings.top_k,
        answer_sentences=settings.answer_sentences,
        context_window=settings.llm_context_window,
        max_answer_tokens=settings.llm_max_answer_tokens,
    )
