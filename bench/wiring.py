"""Wiring for `python -m bench realtimeqa`: settings become the indexes and engines it uses."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bench.ablation import Parts, Recombined
from bench.realtimeqa import COVERAGE, FULL, READER, READER_CHOICE, READER_COVERAGE, Indexing
from bench.vectors import PrecomputedEmbedder, load_vectors
from index.prepare import PIPELINE_VERSION
from newsdesk.factory import build_embedder, build_ingestor, build_newsdesk, build_retriever
from rag.reader import shipped_reader_dir

if TYPE_CHECKING:
    from index.ingest import IngestReport
    from newsdesk.settings import Settings
    from rag.engine import Newsdesk


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
    FULL: Parts(),
    COVERAGE: Parts(),
    READER: Parts(),
    READER_CHOICE: Parts(),
    READER_COVERAGE: Parts(),
    "dense only": Parts(keyword=False, windows=False, collapse=False),
    "keyword only": Parts(dense=False, windows=False, collapse=False),
    "fusion (RRF)": Parts(windows=False, collapse=False),
    "fusion + windows": Parts(collapse=False),
}


def _engine_in(
    settings: Settings, folder: Path, top_k: int, variant: str, recency: float | None
) -> Newsdesk:
    # Only the full system and the reader's rows beside it have the learned answerer: the
    # ablation adds it last. The reader's rows read with the shipped reader whatever the
    # settings say.
    learned = variant in (FULL, READER, READER_CHOICE)
    chosen = settings if learned else settings.replace(answer_model="none")
    chosen = chosen.replace(reader=_reader_for(variant, settings))
    if recency is not None:
        chosen = chosen.replace(recency_weight=recency)
    chosen = _in_folder(chosen, folder, top_k)
    embedder = build_embedder(chosen)
    retriever = Recombined(build_retriever(chosen, embedder), VARIANTS[variant])
    return build_newsdesk(chosen, embedder, retriever)


def _reader_for(variant: str, settings: Settings) -> str:
    """The reader a variant reads with: the shipped one; for READER_CHOICE a copy whose card
    sets the threshold its training chose, so the reader also decides whether to answer."""
    if variant in (READER, READER_COVERAGE):
        return "shipped"
    if variant != READER_CHOICE:
        return "off"
    folder = settings.store.resolved_data_dir() / "reader-with-trained-threshold"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "tokenizer.json"):
        link = folder / name
        if link.is_symlink() or link.exists():
            link.unlink()  # a link left by another checkout may point nowhere
        link.symlink_to(shipped_reader_dir() / name)
    card = json.loads((shipped_reader_dir() / "card.json").read_text())
    trained = card.get("trained_threshold", card["threshold"])
    (folder / "card.json").write_text(json.dumps({**card, "threshold": trained}))
    return str(folder)


def index_fingerprint(settings: Settings) -> str:
    """Everything that decides a benchmark index's chunks and vectors."""
    embedding = settings.embedding
    ingest = settings.ingest
    return (
        f"pipeline {PIPELINE_VERSION}; chunks {ingest.chunk_size}/{ingest.chunk_overlap}; "
        f"embedder {embedding.backend}:{embedding.model or 'bundled MiniLM'}"
    )


def realtimeqa_indexing(settings: Settings, vectors: Path | None = None) -> Indexing:
    """How `python -m bench realtimeqa` builds and opens its index under the data folder.

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
