"""Connecting to Chroma: an embedded folder or a server, opened with one clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from index.damage import VectorDamage, check_vectors
from index.lease import StoreError, locked

# Serialises creating the client and collections of an embedded folder across processes: two
# first opens of a new folder otherwise race on Chroma's schema ("table collections already exists").
OPEN_LOCK = ".chroma-open.lock"
PAGE = 5000  # records read from a collection at once


def pages(
    collection: Any, include: list[str], where: dict[str, Any] | None = None
) -> Iterator[tuple[list, list, list]]:
    """(ids, metadatas, documents) of a collection's records, PAGE at a time, within `where`."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=PAGE, offset=offset, where=where)
        if not got["ids"]:
            return
        yield got["ids"], got.get("metadatas") or [], got.get("documents") or []
        offset += len(got["ids"])


def lock_dir(client: Any) -> Path | None:
    """The data folder of an embedded client, where the lock files live; None for a server."""
    settings = client.get_settings()
    return Path(settings.persist_directory).parent if settings.is_persistent else None


def open_client(data_dir: Path, host: str | None, port: int, check: bool = True) -> Any:
    """A Chroma client: HTTP when `host` is set, else embedded under `data_dir/chroma`, whose
    vector files are checked first (`check=False` only to repair them)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if check and not host:
        try:
            check_vectors(data_dir / "chroma")
        except VectorDamage as exc:
            raise StoreError(str(exc)) from exc
    options = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if host:
            return chromadb.HttpClient(host=host, port=port, settings=options)
        data_dir.mkdir(parents=True, exist_ok=True)
        with locked(data_dir / OPEN_LOCK):
            return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=options)
    except Exception as exc:
        where = f"Chroma server at {host}:{port}" if host else f"Chroma folder {data_dir}"
        fix = (
            "start it with `chroma run` or unset CHROMA_HOST" if host else "check NEWSDESK_DATA_DIR"
        )
        raise StoreError(f"cannot open the {where} ({exc}); {fix}") from exc
