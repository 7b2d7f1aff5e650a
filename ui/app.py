"""The Gradio pages: the chat at `/` and a compact embeddable view at `/embed`.

Gradio is imported at the top here, so `ui.api` imports this module only when the UI is wanted and
the API-only app stays quick to import. All answer HTML comes from `ui.render`, which escapes
everything taken from the corpus.

Every handler is private (`api_visibility="private"`, and `NoGradioApi` refuses Gradio's
direct-call routes): the pages reach them only through Gradio's queue, and each question counts
against the client's rate limit like an `/api/ask` request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from fastapi import Request
from fastapi.responses import FileResponse, RedirectResponse

from ui import render
from ui.chat import ALL_OUTLETS, WELCOME, Conversation, TurnRunner, View, parse_filters
from ui.corpus import EMPTY_INDEX, summary_html
from ui.guards import Gate, RateLimiter
from ui.settings import ServerSettings
from ui.storage import MEMORY_STORAGE, STORAGE_NOTE
from ui.style import STYLE
from ui.suggest import Suggestions

if TYPE_CHECKING:
    from fastapi import FastAPI

    from rag.engine import Newsdesk
    from rag.types import CorpusSummary

EXAMPLES = 3
DROP_CARRIED = "Ask again without the previous question's filters"
SOURCES_IDLE = '<div class="nd-sources"><h3>Sources</h3><p class="nd-muted">The passages an answer cites are listed here.</p></div>'
HEADER = (
    '<div class="nd-header"><h1>Newsdesk</h1><p>Answers from the news corpus, every sentence cited '
    'to outlet and date. <a href="/docs" target="_blank" rel="noopener">HTTP API</a></p></div>'
)


# Handlers are reachable only from the pages (see the module docstring). Gradio's own per-event
# concurrency limit is switched off: the shared `Gate` bounds answering across the API and the UI.
PRIVATE: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}


def _html(value: str = "", elem_id: str | None = None, **extra: Any) -> gr.HTML:
    # js_on_load=None: these panels need no client code (Gradio's default adds a click hook).
    return gr.HTML(value, elem_id=elem_id, js_on_load=None, **extra)


@dataclass
class Guards:
    """What every answering path shares: the concurrency gate and the per-client rate limit."""

    gate: Gate
    limiter: RateLimiter


def _runner(engine: Newsdesk, settings: ServerSettings, guards: Guards, inline: bool) -> TurnRunner:
    return TurnRunner(
        engine,
        guards.gate,
        settings.max_question_chars,
        settings.max_history_turns,
        inline,
        guards.limiter,
    )


def _client(request: gr.Request | None) -> str | None:
    """The asking browser's address, as the rate limit keys it."""
    client = request.client if request is not None else None
    return str(client.host) if client and client.host else None


def _start_page(engine: Newsdesk) -> tuple[CorpusSummary, str]:
    summary = engine.summary()
    start = render.message(EMPTY_INDEX, "warn") if not summary.articles else WELCOME
    return summary, render.transcript([], start)


@dataclass
class Column:
    """The conversation column both pages share."""

    conv: gr.State
    kept: gr.BrowserState
    transcript: gr.HTML
    filters: gr.HTML
    drop: gr.Button  # asks the last question again without the filters it carried
    status: gr.HTML
    question: gr.Textbox
    ask: gr.Button


@dataclass
class Extras:
    """What only the full chat page has."""

    examples: list[gr.Button]
    outlet: gr.Dropdown
    since: gr.Textbox
    until: gr.Textbox
    as_of: gr.Textbox
    new: gr.Button
    sources: gr.HTML
    corpus: gr.HTML


@dataclass(frozen=True)
class Form:
    """The chat page's filter fields as typed (the embed has none)."""

    outlet: str = ALL_OUTLETS
    since: str = ""
    until: str = ""
    as_of: str = ""


def _conversation_column(scroll: bool, storage_key: str) -> Column:
    conv = gr.State(Conversation())
    # The browser keeps the conversation (localStorage), so a reload shows it again; the server
    # stores nothing. Where the browser denies the page storage, it lasts until the reload
    # (ui/storage.py). A fixed secret, so that what a browser kept still reads after a restart:
    # it holds only the user's own answers, and every kept answer is validated and rendered
    # again on load, never trusted.
    kept = gr.BrowserState([], storage_key=storage_key, secret="newsdesk-conversation")
    # In the embed the transcript scrolls inside the frame so the question box stays in view.
    extra = {"elem_classes": "nd-embed-scroll"} if scroll else {}
    transcript = _html(render.transcript([], WELCOME), "nd-transcript", autoscroll=True, **extra)
    filters = _html("", "nd-filters")
    drop = gr.Button(DROP_CARRIED, visible=False, size="sm", elem_id="nd-drop")
    status = _html("", "nd-status")
    with gr.Row():
        question = gr.Textbox(
            show_label=False,
            placeholder="Ask about the news…",
            scale=5,
            min_width=160,
            elem_id="nd-question",
        )
        ask = gr.Button("Ask", variant="primary", scale=1, min_width=60, elem_id="nd-ask")
    _html(STORAGE_NOTE, "nd-storage-note")  # shown only where the browser denies storage
    return Column(conv, kept, transcript, filters, drop, status, question, ask)


def _chat_layout() -> tuple[Column, Extras]:
    _html(HEADER)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            col = _conversation_column(scroll=False, storage_key="newsdesk-chat")
            with gr.Row(elem_classes="nd-examples"):
                examples = [
                    gr.Button(visible=False, size="sm", elem_classes="nd-example")
                    for _ in range(EXAMPLES)
                ]
            with gr.Row():
                outlet = gr.Dropdown(
                    [ALL_OUTLETS],
                    value=ALL_OUTLETS,
                    label="Outlet",
                    elem_id="nd-outlet",
                    min_width=150,
                )
                since = gr.Textbox(
                    label="Since", placeholder="YYYY-MM-DD", min_width=120, elem_id="nd-since"
                )
                until = gr.Textbox(
                    label="Until", placeholder="YYYY-MM-DD", min_width=120, elem_id="nd-until"
                )
                # A day to ask from: "last week" is read from it, and nothing is left out.
                as_of = gr.Textbox(
                    label="As of", placeholder="YYYY-MM-DD", min_width=120, elem_id="nd-as-of"
                )
            new = gr.Button("New conversation", size="sm", elem_id="nd-new")
        with gr.Column(scale=2, min_width=280):
            sources, corpus = _html(SOURCES_IDLE, "nd-sources"), _html("", "nd-corpus")
    return col, Extras(examples, outlet, since, until, as_of, new, sources, corpus)


def build_chat(engine: Newsdesk, settings: ServerSettings, guards: Guards) -> gr.Blocks:
    """The full chat page: conversation, filters, sources panel and corpus summary."""
    runner = _runner(engine, settings, guards, inline=False)
    suggestions = Suggestions(engine, EXAMPLES)
    with gr.Blocks(title="Newsdesk", analytics_enabled=False) as demo:
        c, x = _chat_layout()

        def respond(
            text: str,
            outlet: str,
            since: str,
            until: str,
            as_of: str,
            state: Conversation,
            request: gr.Request,
        ) -> Iterator[tuple[Any, ...]]:
            fields = Form(outlet, since, until, as_of)
            yield from _chat_views(_turn(runner, state, text, fields, _client(request)), state)

        def again(
            outlet: str, since: str, until: str, as_of: str, state: Conversation, r: gr.Request
        ) -> Iterator[tuple[Any, ...]]:
            fields = Form(outlet, since, until, as_of)
            yield from _chat_views(_turn(runner, state, None, fields, _client(r)), state)

        outputs = [c.transcript, x.sources, c.filters, c.status, c.conv, c.kept, c.question, c.drop]
        form = [x.outlet, x.since, x.until, x.as_of, c.conv]
        for trigger, text in [
            (c.question.submit, c.question),
            (c.ask.click, c.question),
            *((b.click, b) for b in x.examples),
        ]:
            trigger(respond, [text, *form], outputs, **PRIVATE)
        c.drop.click(again, form, outputs, **PRIVATE)

        _new_and_start(demo, c, x, lambda kept: _chat_start(engine, suggestions, runner, kept))
    return demo


def _new_and_start(demo: gr.Blocks, c: Column, x: Extras, start: Callable[[Any], Any]) -> None:
    """The chat page's "New conversation" (which forgets the kept one) and its page load."""

    def reset() -> tuple[Any, ...]:
        fresh = render.transcript([], WELCOME)
        return Conversation(), [], fresh, SOURCES_IDLE, "", "", gr.Button(visible=False)

    x.new.click(
        reset,
        outputs=[c.conv, c.kept, c.transcript, x.sources, c.filters, c.status, c.drop],
        **PRIVATE,
    )
    demo.load(
        start,
        inputs=[c.kept],
        outputs=[x.corpus, x.outlet, c.conv, c.transcript, x.sources, *x.examples],
        **PRIVATE,
    )


def _chat_start(
    engine: Newsdesk, suggestions: Suggestions, runner: TurnRunner, kept: Any
) -> list[Any]:
    """Per page load: corpus panel, outlet choices, the conversation this browser kept (or the
    start message), its last sources, and example questions."""
    summary, start = _start_page(engine)
    conv, transcript = _restored(runner, kept, start)
    sources = conv.sources() or SOURCES_IDLE
    asks = suggestions.for_corpus(summary)
    buttons = [
        gr.Button(value=asks[i], visible=True) if i < len(asks) else gr.Button(visible=False)
        for i in range(EXAMPLES)
    ]
    choices = [ALL_OUTLETS, *summary.outlets]
    outlets = gr.Dropdown(choices=choices, value=ALL_OUTLETS)
    return [summary_html(summary), outlets, conv, transcript, sources, *buttons]


def _restored(runner: TurnRunner, kept: Any, start: str) -> tuple[Conversation, str]:
    """The kept conversation and its transcript; the start page when none was kept."""
    keep = runner.max_history_turns or 1
    conv = Conversation.restored(kept, runner.inline_sources, keep, runner.max_question_chars)
    return conv, render.transcript(conv.blocks, WELCOME) if conv.blocks else start


def build_embed(engine: Newsdesk, settings: ServerSettings, guards: Guards) -> gr.Blocks:
    """The compact view for iframes and web components: conversation with sources inline."""
    runner = _runner(engine, settings, guards, inline=True)
    with gr.Blocks(title="Newsdesk", analytics_enabled=False, fill_width=True) as demo:
        c = _conversation_column(scroll=True, storage_key="newsdesk-embed")
        new = gr.Button("New conversation", size="sm", elem_id="nd-new")

        def respond(
            text: str, state: Conversation, request: gr.Request
        ) -> Iterator[tuple[Any, ...]]:
            for v in _turn(runner, state, text, Form(), _client(request)):
                yield _embed_view(v, state)

        def again(state: Conversation, request: gr.Request) -> Iterator[tuple[Any, ...]]:
            for v in _turn(runner, state, None, Form(), _client(request)):
                yield _embed_view(v, state)

        outputs = [c.transcript, c.filters, c.status, c.conv, c.kept, c.question, c.drop]
        for trigger in (c.question.submit, c.ask.click):
            trigger(respond, [c.question, c.conv], outputs, **PRIVATE)
        c.drop.click(again, [c.conv], outputs, **PRIVATE)

        def reset() -> tuple[Any, ...]:
            fresh = render.transcript([], WELCOME)
            return Conversation(), [], fresh, "", "", gr.Button(visible=False)

        new.click(
            reset, outputs=[c.conv, c.kept, c.transcript, c.filters, c.status, c.drop], **PRIVATE
        )

        def start(kept: Any) -> tuple[Conversation, str]:
            return _restored(runner, kept, _start_page(engine)[1])

        demo.load(start, inputs=[c.kept], outputs=[c.conv, c.transcript], **PRIVATE)
    return demo


def _turn(
    runner: TurnRunner,
    state: Conversation,
    text: str | None,
    form: Form,
    client: str | None,
) -> Iterator[View]:
    """One question (`text`), or with `text` None the last one again without its carried
    filters (`TurnRunner.again`)."""
    try:
        filters = parse_filters(form.outlet, form.since, form.until, form.as_of)
    except ValueError as exc:
        note = render.message(str(exc), "warn")
        yield View(render.transcript([*state.blocks, note], WELCOME), "", "", "")
        return
    if text is None:
        yield from runner.again(state, filters, client)
    else:
        yield from runner.run(state, text, filters, client)


def _chat_views(views: Iterator[View], state: Conversation) -> Iterator[tuple[Any, ...]]:
    """The chat page's outputs for each step of a turn."""
    for v in views:
        sources = v.sources or SOURCES_IDLE
        drop = gr.Button(visible=v.carried)
        yield v.transcript, sources, v.filters, v.status, state, state.kept, "", drop


def _embed_view(v: View, state: Conversation) -> tuple[Any, ...]:
    """The embed's outputs for one step of a turn."""
    return v.transcript, v.filters, v.status, state, state.kept, "", gr.Button(visible=v.carried)


def web_component_loader() -> Path:
    """Gradio's web-component loader script, served at /gradio.js so embeds need no CDN."""
    return Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js"


def mount_ui(
    app: FastAPI, engine: Newsdesk, settings: ServerSettings, gate: Gate, limiter: RateLimiter
) -> None:
    """Mount the embed view at /embed and the chat at / (order matters: / catches the rest).

    `gate` and `limiter` are the ones the API uses, so UI and API share both bounds.
    """
    loader = web_component_loader()

    # It imports ./assets/index-*.js, which the Gradio app mounted at / serves.
    @app.get("/gradio.js", include_in_schema=False)
    def gradio_js() -> FileResponse:
        return FileResponse(loader, media_type="text/javascript")

    users = [(user, password.get_secret_value()) for user, password in settings.auth]
    options: dict[str, Any] = {
        "auth": users or None,
        "css": STYLE,
        "head": MEMORY_STORAGE,  # so that a browser denying the pages storage does not stop them
        "footer_links": [],
        "run_history": False,
        "ssr_mode": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "show_error": False,
    }

    # `/embed` without the slash is not under the /embed mount, and the chat at / would answer
    # 404: redirect it (keeping the query). The security headers middleware covers it too.
    def embed_redirect(request: Request) -> RedirectResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{request.url.path}/{query}", status_code=307)

    app.add_route("/embed", embed_redirect, methods=["GET", "HEAD"], include_in_schema=False)
    guards = Guards(gate, limiter)
    gr.mount_gradio_app(app, build_embed(engine, settings, guards), path="/embed", **options)
    gr.mount_gradio_app(app, build_chat(engine, settings, guards), path="/", **options)
