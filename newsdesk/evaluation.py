"""Wiring for `newsdesk eval` and `newsdesk bench`: settings become what `evals` is handed.

`evals` never reads settings; these build the callables it calls from them.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from evals.realtimeqa import COVERAGE, FULL, Indexing
from evals.run import open_index
from index.embedding import PrecomputedEmbedder, load_vectors
from index.prepare import PIPELINE_VERSION
from newsdesk.factory import build_embedder, build_ingestor, build_newsdesk
from rag.retrieve import Components

if TYPE_CHECKING:
    from collections.abc import Callable

    from index.ingest import IngestReport
    from newsdesk.settings import Settings
    from rag.engine import Newsdesk


def eval_engine(settings: Settings) -> Callable[[], Newsdesk]:
    """Opens the configured engine when called, checked to hold articles (see `open_index`)."""
    return partial(open_index, partial(build_newsdesk, settings), settings.data_dir)


def _in_folder(settings: Settings, folder: Path, top_k: int | None = None) -> Settings:
    # Always an embedded store in `folder`, never a shared Chroma server, so a benchmark's
    # index neither mixes with nor overwrites another.
    update: dict[str, object] = {"data_dir": folder, "chroma_host": None}
    if top_k is not None:
        update["top_k"] = top_k
    return settings.replace(**update)


def _ingest_quietly(
    settings: Settings, vectors: Path | None, paths: list[Path], folder: Path
) -> IngestReport:
    embedder = build_embedder(settings)
    if vectors is not None:  # document vectors computed elsewhere (bench/gpu_vectors.py)
        embedder = PrecomputedEmbedder(embedder, *load_vectors(vectors))
    ingestor = build_ingestor(_in_folder(settings, folder), embedder=embedder)
    return ingestor.run(paths, log=lambda m: None)


# The benchmark's ablation: retrieval parts added one at a time, over the same index.
VARIANTS = {
    FULL: Components(),
    COVERAGE: Components(),
    "dense only": Components(keyword=False, windows=False, collapse=False),
    "keyword only": Components(dense=False, windows=False, collapse=False),
    "fusion (RRF)": Components(windows=False, collapse=False),
    "fusion + windows": Components(collapse=False),
}


def _engine_in(
    settings: Settings, folder: Path, top_k: int, variant: str, recency: float | None
) -> Newsdesk:
    # Only the full system has the learned answerer: the ablation adds it last.
    chosen = settings if variant == FULL else settings.replace(answer_model="none")
    if recency is not None:
        chosen = chosen.replace(recency_weight=recency)
    return build_newsdesk(_in_folder(chosen, folder, top_k), components=VARIANTS[variant])


def index_fingerprint(settings: Settings) -> str:
    """Everything that decides a benchmark index's chunks and vectors."""
    embedding = settings.embedding
    ingest = settings.ingest
    return (
        f"pipeline {PIPELINE_VERSION}; chunks {ingest.chunk_size}/{ingest.chunk_overlap}; "
        f"embedder {embedding.backend}:{embedding.model or 'bundled MiniLM'}"
    )


def realtimeqa_indexing(settings: Settings, vectors: Path | None = None) -> Indexing:
    """How `newsdesk bench realtimeqa` builds and opens its index under the data folder.

    `vectors`: a folder of document vectors computed elsewhere for the same texts and model
    (see bench/gpu_vectors.py); texts it lacks are embedded here as usual.
    """
    return Indexing(
        root=settings.store.resolved_data_dir(),
        fingerprint=index_fingerprint(settings),
        ingest=partial(_ingest_quietly, settings, vectors),
        make_engine=partial(_engine_in, settings),
        variants=tuple(VARIANTS),
    )
