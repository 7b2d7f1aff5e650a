"""`newsdesk serve`: build the index if asked, build the engine once, run the app under uvicorn.

Start-up is wiring, so it lives here in the composition root: `ui` only receives a built engine.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from index.owner import FolderServed, ServerMark
from newsdesk.factory import (
    build_embedder,
    build_feed,
    build_ingestor,
    build_newsdesk,
    build_retriever,
    build_store,
)
from ui.api import create_app

if TYPE_CHECKING:
    from fastapi import FastAPI

    from index.embedding import Embedder
    from newsdesk.settings import Settings
    from rag.engine import Newsdesk
    from ui.settings import ServerSettings

log = logging.getLogger("newsdesk.serve")


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warnings(server: ServerSettings) -> list[str]:
    """Warnings for each part left open while the server listens beyond loopback.

    The chat and the HTTP API are guarded separately (NEWSDESK_AUTH and NEWSDESK_API_TOKEN), so
    each one left open gets its own warning.
    """
    if is_loopback(server.host):
        return []
    warnings = []
    if not server.auth:
        warnings.append(
            f"listening on {server.host} without NEWSDESK_AUTH: anyone who can reach "
            "this port can use the chat at / and /embed (no login)"
        )
    if not server.api_token.get_secret_value():
        warnings.append(
            f"listening on {server.host} without NEWSDESK_API_TOKEN: anyone who can "
            "reach this port can use the HTTP API under /api"
        )
    return warnings


def framing_line(server: ServerSettings) -> str:
    """Which sites may frame the chat, and the setting that allows another: a page framed from
    elsewhere shows only the browser's blank refusal."""
    allowed = server.frame_ancestors.strip()
    if allowed in ("", "'none'"):
        return (
            "no page may frame /embed; to embed the chat in a wiki, set "
            "NEWSDESK_FRAME_ANCESTORS=\"'self' https://wiki.example.com\""
        )
    if allowed == "'self'":
        return (
            "only pages of this server's own origin may frame /embed; to embed the chat in a wiki "
            "on another origin, set NEWSDESK_FRAME_ANCESTORS=\"'self' https://wiki.example.com\""
        )
    return f"pages of {allowed} may frame /embed (NEWSDESK_FRAME_ANCESTORS)"


def ensure_index(settings: Settings, embedder: Embedder) -> None:
    """Ingest `settings.corpus_dir` when the index has no articles."""
    if build_store(settings).count():
        return
    corpus = settings.corpus_dir
    if not corpus.exists():
        log.warning("the index is empty and %s does not exist; run `newsdesk ingest PATH`", corpus)
        return
    log.info("the index is empty: ingesting %s", corpus)
    # A server must not fork: its threads (Gradio's import, the model's) may hold locks a
    # forked preparing process would wait on for ever. Articles are prepared on a thread.
    unforked = settings.replace(ingest_workers=0)
    report = build_ingestor(unforked, progress=False, embedder=embedder).run([corpus], log=log.info)
    log.info(
        "ingested %d articles (%d chunks) in %.1fs", report.ingested, report.chunks, report.seconds
    )


def _preload_gradio() -> threading.Thread:
    # Importing Gradio takes seconds; overlapping it with loading the models and index shortens
    # the time until /healthz answers.
    def load() -> None:
        import gradio  # noqa: F401

    thread = threading.Thread(target=load, name="import-gradio", daemon=True)
    thread.start()
    return thread


def build_app(
    settings: Settings, ingest_if_empty: bool = True, writes: bool = True
) -> tuple[FastAPI, Newsdesk]:
    """The engine (built once) and the app serving it; `writes` False: it only reads (another
    server owns the folder's writes), so it neither fills an empty index nor takes articles."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    preload = _preload_gradio()
    embedder = build_embedder(settings)
    if ingest_if_empty and writes:
        ensure_index(settings, embedder)
    retriever = build_retriever(settings, embedder)
    engine = build_newsdesk(settings, embedder, retriever)
    engine.summary()  # read the index now rather than on the first question
    engine.warm()
    preload.join()
    feed = build_feed(settings, retriever, embedder) if writes else None
    return create_app(engine, settings.server, feed=feed), engine


def serve(settings: Settings, ingest_if_empty: bool = True) -> None:
    """Run the chat UI and HTTP API on the server settings' host and port until interrupted."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    started = time.perf_counter()
    for warning in exposure_warnings(settings.server):
        log.warning(warning)
    mark = ServerMark(settings.store.resolved_data_dir())
    writes = _hold_folder(settings, mark)
    try:
        _serve(settings, ingest_if_empty, writes, started)
    finally:
        mark.release()


def _hold_folder(settings: Settings, mark: ServerMark) -> bool:
    """Own the embedded folder's writes while serving (`index.owner`); False, with a warning,
    when another server owns them. A Chroma server keeps one copy for all its clients, so every
    server of one may write."""
    if settings.store.chroma_host:
        return True
    try:
        mark.take(f"http://{settings.server.host}:{settings.server.port}")
    except FolderServed as exc:
        log.warning("%s; this server only reads: its feed is off", exc)
        return False
    return True


def _serve(settings: Settings, ingest_if_empty: bool, writes: bool, started: float) -> None:
    import uvicorn

    app, engine = build_app(settings, ingest_if_empty, writes)
    health = engine.health()
    log.info(
        "ready in %.1fs: %d articles, %d chunks, answer mode %s; http://%s:%d/",
        time.perf_counter() - started,
        health.documents,
        health.chunks,
        health.mode,
        settings.server.host,
        settings.server.port,
    )
    server = settings.server
    log.info(framing_line(server))
    if server.trusted_proxies:
        log.info("client addresses from X-Forwarded-For of %s", ", ".join(server.trusted_proxies))
    uvicorn.run(
        app,
        host=server.host,
        port=server.port,
        timeout_graceful_shutdown=5,
        **proxy_options(server),
    )


def proxy_options(server: ServerSettings) -> dict[str, Any]:
    """uvicorn's proxy-header options: believe X-Forwarded-For only from NEWSDESK_TRUSTED_PROXIES.

    uvicorn's own default trusts loopback, which lets any process on this host (or any client of
    a proxy that passes the header through) pick its address and escape the per-client rate
    limit; with no trusted proxies the headers are not read at all.
    """
    trusted = list(server.trusted_proxies)
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or ""}
