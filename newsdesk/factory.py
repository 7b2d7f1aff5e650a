"""Wiring: the one place settings become objects. Entry points call these; nothing else reads settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

from evals.run import open_index
from index.client import open_client
from index.embedding import Embedder, make_embedder
from index.feed import Feed
from index.ingest import Ingestor
from index.keyword import KeywordIndex, tokenizer, tokens_version
from index.settings import EmbeddingSettings
from index.store import ChromaStore
from newsdesk.settings import Settings
from rag.answerers import Answerer
from rag.engine import Newsdesk
from rag.extractive import ExtractiveAnswerer
from rag.generative import LLMAnswerer
from rag.llm import ChatModel, LlamaIndexChat
from rag.reader import Reader, shipped_reader_dir
from rag.retrieve import HybridRetriever, Retriever
from rag.sentence_model import AnswerModel, shipped_model_path
from rag.support import SupportChecker
from rag.types import AnswerMode


def build_store(settings: Settings) -> ChromaStore:
    """The Chroma store the settings point at (embedded folder or server)."""
    store = settings.store
    client = open_client(store.resolved_data_dir(), store.chroma_host, store.chroma_port)
    return ChromaStore(client, store.collection)


def build_keywords(settings: Settings) -> KeywordIndex:
    """The keyword index folder for the configured store, in this machine's data folder.

    A Chroma server's index is kept per server and collection, so two servers never share one.
    """
    store = settings.store
    name = store.collection
    if store.chroma_host:
        name = re.sub(r"[^A-Za-z0-9.-]", "_", f"{store.chroma_host}-{store.chroma_port}-{name}")
    folder = store.resolved_data_dir() / "keyword" / name
    return KeywordIndex(folder, tokenizer(), tokens_version())


def build_embedder(settings: Settings) -> Embedder:
    """The embedding backend the settings choose."""
    embedding = settings.embedding
    return make_embedder(
        embedding.backend,
        embedding.model,
        embedding.model_cache_dir.expanduser(),
        embedding.batch_size,
        embedding.device,
        base_url=embedding.base_url,
        api_key=embedding.api_key.get_secret_value(),
    )


def build_ingestor(
    settings: Settings, prune: bool = False, progress: bool = True, embedder: Embedder | None = None
) -> Ingestor:
    """An ingestor writing into the configured store."""
    return Ingestor(
        build_store(settings),
        embedder or build_embedder(settings),
        settings.ingest,
        batch_size=settings.embedding.batch_size,
        prune=prune,
        progress=progress,
        keywords=build_keywords(settings),
        embed_ahead=embed_ahead(settings.embedding),
    )


def build_feed(settings: Settings, retriever: HybridRetriever, embedder: Embedder) -> Feed | None:
    """The serving process's feed, writing into its retriever's store; None without an API
    token (the feed is off)."""
    if not settings.server.api_token.get_secret_value():
        return None
    # A server must not fork (`newsdesk.serve.ensure_index` says why): articles are prepared
    # on a thread.
    ingest = settings.replace(ingest_workers=0).ingest

    def make_ingestor(store: ChromaStore) -> Ingestor:
        return Ingestor(
            store,
            embedder,
            ingest,
            batch_size=settings.embedding.batch_size,
            progress=False,
            keywords=retriever.live.keywords,
            embed_ahead=embed_ahead(settings.embedding),
        )

    folder = settings.store.resolved_data_dir() / "feed"
    return Feed(retriever.store, make_ingestor, folder, retriever.live.follow)


def embed_ahead(embedding: EmbeddingSettings) -> int:
    """Embedding calls an ingest keeps in flight: several to an endpoint, which answers them
    while the ingest writes; one to a model in this process, which would only share its cores."""
    return embedding.concurrency if embedding.backend == "openai" else 1


def build_llm(settings: Settings) -> ChatModel | None:
    """The LLM client for `openai` or `ollama` answer modes; None in extractive mode."""
    if settings.answer.mode is AnswerMode.EXTRACTIVE:
        return None
    return LlamaIndexChat(settings.answer.mode, settings.llm_endpoint)


def build_answer_model(settings: Settings) -> AnswerModel | None:
    """The learned sentence model the settings choose, or None for word coverage alone."""
    choice = settings.answer.answer_model
    if choice == "none":
        return None
    return AnswerModel.load(shipped_model_path() if choice == "shipped" else Path(choice))


def build_reader(settings: Settings) -> Reader | None:
    """The reader the settings choose, or None when it is off."""
    choice = settings.answer.reader
    if choice == "off":
        return None
    folder = shipped_reader_dir() if choice == "shipped" else Path(choice)
    return Reader(folder, settings.answer.reader_tokens)


def build_answerers(settings: Settings) -> dict[AnswerMode, Answerer]:
    """The extractive answerer, and the LLM answerer when an LLM answer mode is configured."""
    answer = settings.answer
    answerers: dict[AnswerMode, Answerer] = {
        AnswerMode.EXTRACTIVE: ExtractiveAnswerer(
            tokenizer(),
            answer.answer_sentences,
            build_answer_model(settings),
            build_reader(settings),
            answer.reader_candidates,
        )
    }
    chat = build_llm(settings)
    if chat is not None:
        endpoint = settings.llm_endpoint
        answerers[chat.kind] = LLMAnswerer(
            chat, answer.answer_sentences, endpoint.prompt_tokens, endpoint.passage_header_tokens
        )
    return answerers


def build_retriever(settings: Settings, embedder: Embedder) -> HybridRetriever:
    """Hybrid retrieval over the configured store and its keyword index."""
    return HybridRetriever(
        build_store(settings),
        embedder,
        keywords=build_keywords(settings),
        recency=settings.retrieval.recency_weight,
    )


def build_newsdesk(
    settings: Settings, embedder: Embedder | None = None, retriever: Retriever | None = None
) -> Newsdesk:
    """The answering engine: retrieval (`retriever`, or the hybrid one), the support check and
    the answerers."""
    embedder = embedder or build_embedder(settings)
    return Newsdesk(
        retriever or build_retriever(settings, embedder),
        SupportChecker(embedder.embed_query, settings.answer.support_threshold),
        settings.answer,
        settings.retrieval,
        build_answerers(settings),
    )


def build_eval_engine(settings: Settings) -> Callable[[], Newsdesk]:
    """Opens the configured engine when called, checked to hold articles (`evals.run.open_index`)."""
    return partial(open_index, partial(build_newsdesk, settings), settings.data_dir)
