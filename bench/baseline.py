"""The plain llama-index pipeline Newsdesk is measured against in the benchmarks.

VectorStoreIndex over Chroma, the same MiniLM model through llama-index's HuggingFaceEmbedding,
default chunking (SentenceSplitter defaults) and dense top-k retrieval: what a typical RAG app does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.embedding import bundled_model_dir


def embed_model(batch_size: int = 64) -> Any:
    """The bundled MiniLM as a llama-index embedding model."""
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(
        model_name=str(bundled_model_dir()), embed_batch_size=batch_size, device="cpu"
    )


def index_over_collection(collection: Any, model: Any) -> Any:
    """A VectorStoreIndex reading an existing Chroma collection (Newsdesk's own chunks)."""
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    return VectorStoreIndex.from_vector_store(
        ChromaVectorStore(chroma_collection=collection), embed_model=model
    )


def build_index(articles: Sequence[dict[str, Any]], client: Any, name: str, model: Any) -> Any:
    """Ingest raw articles with llama-index defaults into their own Chroma collection."""
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    collection = client.get_or_create_collection(name, embedding_function=None)
    store = ChromaVectorStore(chroma_collection=collection)
    if collection.count() > 0:
        return VectorStoreIndex.from_vector_store(store, embed_model=model)
    docs = [
        Document(text=a["text"], metadata={"url": a.get("url", "")})
        for a in articles
        if a.get("text")
    ]
    context = StorageContext.from_defaults(vector_store=store)
    return VectorStoreIndex.from_documents(docs, storage_context=context, embed_model=model)


def retrieve(index: Any, question: str, k: int) -> list[str]:
    """Texts of the top-k chunks for a question."""
    return [n.node.get_content() for n in index.as_retriever(similarity_top_k=k).retrieve(question)]


def client_at(path: Path) -> Any:
    """An embedded Chroma client for a benchmark's own folder."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )
