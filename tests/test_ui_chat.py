"""The chat turn logic, request guards and server helpers, without Gradio or a model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest

from newsdesk.serve import exposure_warnings, framing_line, is_loopback
from rag.types import Answer, AnswerSentence, AppliedFilters, Citation, Filters, StreamEvent, Turn
from ui.chat import ALL_OUTLETS, Conversation, TurnRunner, parse_filters
from ui.guards import Busy, Gate, RateLimiter, bearer_ok, client_key
from ui.settings import ServerSettings


def _citation(n: int) -> Citation:
    return Citation(
        doc_id="d",
        chunk_id=f"d::{n}",
        outlet="Dawn",
        date=date(2025, 8, 28),
        title="T",
        url=None,
        number=n,
        marker=f"[{n}: Dawn, 28 Aug 2025]",
        label="Dawn, 28 Aug 2025",
        passage="Peskov spoke.",
        span=(0, 13),
        quote="Peskov spoke.",
        quote_span=(0, 13),
    )


class ScriptedEngine:
    """Replays a fixed event script and records what each call received."""

    def __init__(self, reset: bool = False, fail: bool = False) -> None:
        self.reset = reset
        self.fail = fail
        self.calls: list[tuple[str, list[Turn], Filters | None]] = []

    def stream(
        self,
        question: str,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
        mode: str | None = None,
    ) -> Iterator[StreamEvent]:
        self.calls.append((question, list(history or []), filters))
        if self.fail:
            raise RuntimeError("index went away")
        applied = AppliedFilters(explicit=filters or Filters(), effective=filters or Filters())
        yield StreamEvent(type="status", data={"filters": applied.model_dump(mode="json")})
        if self.reset:
            yield StreamEvent(type="delta", text="LLM half-answer ")
            yield StreamEvent(
                type="status", text="The LLM failed; extractive instead.", data={"reset": True}
            )
        yield StreamEvent(type="delta", text="Peskov spoke. [1: Dawn, 28 Aug 2025] ")
        answer = Answer(
            question=question,
            answer="Peskov spoke. [1: Dawn, 28 Aug 2025]",
            sentences=[AnswerSentence(text="Peskov spoke.", citations=[1])],
            citations=[_citation(1)],
            filters=applied,
            timings={"total_ms": 5.0},
            notice="The LLM failed; extractive instead." if self.reset else None,
        )
        yield StreamEvent(type="final", answer=answer)


def test_turn_streams_then_renders_final_and_records_history() -> None:
    engine, conv = ScriptedEngine(), Conversation()
    runner = TurnRunner(engine, Gate(2))
    views = list(runner.run(conv, "  What did Peskov say?  ", Filters(outlet="Dawn")))
    assert "nd-streaming" in views[0].transcript and "searching" in views[0].status
    assert any("nd-pending" in v.transcript for v in views[:-1])
    final = views[-1]
    assert (
        '<details class="nd-cite">' in final.transcript and "nd-streaming" not in final.transcript
    )
    assert "Sources (1)" in final.sources
    assert "Filters applied: outlet Dawn" in final.filters
    assert "Answer mode: extractive · 5 ms" in final.status
    assert engine.calls[0][0] == "What did Peskov say?"
    assert [t.question for t in conv.turns] == ["What did Peskov say?"]
    list(runner.run(conv, "And what else?", Filters()))
    assert [t.question for t in engine.calls[1][1]] == ["What did Peskov say?"]  # history passed
    assert len(conv.blocks) == 2


def test_reset_discards_streamed_llm_text_and_shows_notice() -> None:
    views = list(
        TurnRunner(ScriptedEngine(reset=True), Gate(1)).run(Conversation(), "q?", Filters())
    )
    after_reset = [v for v in views if "extractive instead" in v.status]
    assert after_reset and all("LLM half-answer" not in v.transcript for v in after_reset)
    assert "The LLM failed; extractive instead." in views[-1].status


def test_history_is_trimmed_to_the_limit() -> None:
    engine, conv = ScriptedEngine(), Conversation()
    conv.turns = [Turn(question=f"q{i}") for i in range(5)]
    list(TurnRunner(engine, Gate(1), max_history_turns=2).run(conv, "next?", Filters()))
    assert [t.question for t in engine.calls[0][1]] == ["q3", "q4"]


@pytest.mark.parametrize(
    ("question", "expected"), [("   ", "Type a question"), ("x" * 11, "limit is 10")]
)
def test_blank_or_long_questions_are_refused_without_asking(question: str, expected: str) -> None:
    engine = ScriptedEngine()
    views = list(
        TurnRunner(engine, Gate(1), max_question_chars=10).run(Conversation(), question, Filters())
    )
    assert len(views) == 1 and expected in views[0].transcript and not engine.calls


def test_engine_failure_is_shown_not_raised() -> None:
    conv = Conversation()
    views = list(TurnRunner(ScriptedEngine(fail=True), Gate(1)).run(conv, "q?", Filters()))
    assert "answering failed: RuntimeError: index went away" in views[-1].transcript
    assert conv.turns == []


def test_busy_gate_is_reported() -> None:
    gate = Gate(1, wait_seconds=0.01)
    with gate.slot():
        views = list(TurnRunner(ScriptedEngine(), gate).run(Conversation(), "q?", Filters()))
    assert "too many questions" in views[-1].transcript
    with pytest.raises(Busy), gate.slot(), gate.slot():
        pass


def test_turns_count_against_the_client_rate_limit() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    engine, conv = ScriptedEngine(), Conversation()
    runner = TurnRunner(engine, Gate(1), limiter=limiter)
    for _ in range(2):
        list(runner.run(conv, "q?", Filters(), client="10.0.0.1"))
    limited = list(runner.run(conv, "q?", Filters(), client="10.0.0.1"))
    assert len(limited) == 1 and "Too many questions" in limited[0].transcript
    assert "limit is 2" in limited[0].transcript and "try again in 61 s" in limited[0].transcript
    assert len(engine.calls) == 2 and len(conv.turns) == 2  # the limited turn never ran
    list(runner.run(conv, "q?", Filters(), client="10.0.0.2"))  # another address has its own
    assert len(engine.calls) == 3
    assert limiter.check("10.0.0.1") > 0  # the same buckets the API's guard uses
    list(runner.run(conv, "   ", Filters(), client="10.0.0.3"))  # refused before counting
    assert limiter.check("10.0.0.3") == 0.0
    now[0] = 61.0
    list(runner.run(conv, "q?", Filters(), client="10.0.0.1"))
    assert len(engine.calls) == 4


def test_parse_filters() -> None:
    assert parse_filters(ALL_OUTLETS, "", None) == Filters()
    got = parse_filters("Dawn", "2025-08-01", " 2025-09-01 ")
    assert got == Filters(outlet="Dawn", since=date(2025, 8, 1), until=date(2025, 9, 1))
    with pytest.raises(ValueError, match="like 2025-08-27"):
        parse_filters(None, "Aug 1", "")
    with pytest.raises(ValueError, match="after"):
        parse_filters(None, "2025-09-02", "2025-09-01")


def test_the_as_of_field_sets_the_day_asked_from_and_names_itself_when_wrong() -> None:
    assert parse_filters(ALL_OUTLETS, "", "", " 2025-09-01 ") == Filters(as_of=date(2025, 9, 1))
    assert parse_filters(ALL_OUTLETS, "", "", "") == Filters()
    with pytest.raises(ValueError, match=r"“As of”.*like 2025-08-27"):
        parse_filters(None, "", "", "1 Sep")


def test_rate_limiter_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, window=60.0, clock=lambda: now[0])
    assert limiter.check("a") == 0.0 and limiter.check("a") == 0.0
    assert limiter.check("a") == pytest.approx(60.0)
    assert limiter.check("b") == 0.0  # keys are separate
    now[0] = 30.0
    assert limiter.check("a") == pytest.approx(30.0)
    now[0] = 60.5
    assert limiter.check("a") == 0.0
    now[0] = 500.0
    limiter.check("c")
    assert set(limiter._hits) == {"c"}  # idle keys were swept


def test_rate_limiter_is_thread_safe() -> None:
    limiter = RateLimiter(50)
    allowed = []

    def hit() -> None:
        allowed.append(limiter.check("k") == 0.0)

    threads = [threading.Thread(target=hit) for _ in range(80)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 50


def test_bearer_and_auth_parsing() -> None:
    assert bearer_ok(None, "")
    assert bearer_ok("Bearer s3cret", "s3cret") and bearer_ok("bearer s3cret ", "s3cret")
    assert not bearer_ok(None, "s3cret") and not bearer_ok("Bearer nope", "s3cret")
    assert not bearer_ok("Basic s3cret", "s3cret")
    auth = ServerSettings(auth="ann:pw1, bob:p:w2,broken,").auth  # type: ignore[arg-type]
    assert [(u, p.get_secret_value()) for u, p in auth] == [("ann", "pw1"), ("bob", "p:w2")]
    origins = ServerSettings(cors_origins="https://wiki.example/, https://b.example").cors_origins  # type: ignore[arg-type]
    assert origins == ("https://wiki.example", "https://b.example")
    # Keyed on the address alone: new credentials must not buy a fresh allowance.
    assert client_key("1.2.3.4") == "1.2.3.4" and client_key(None) == "unknown"


def test_loopback_and_exposure_warning() -> None:
    from newsdesk.settings import Settings

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    open_wide = Settings(_env_file=None, host="0.0.0.0", api_token="", auth="")  # type: ignore[call-arg]

    def warned(**update: str) -> str:
        return "\n".join(exposure_warnings(open_wide.replace(**update).server))

    both = warned()
    assert "NEWSDESK_AUTH" in both and "NEWSDESK_API_TOKEN" in both
    token_only = warned(api_token="t")  # the API is guarded, the chat is not
    assert "NEWSDESK_AUTH" in token_only and "/embed" in token_only
    assert "NEWSDESK_API_TOKEN" not in token_only
    login_only = warned(auth="a:b")  # the chat is guarded, the API is not
    assert "NEWSDESK_API_TOKEN" in login_only and "/api" in login_only
    assert "NEWSDESK_AUTH" not in login_only
    assert warned(api_token="t", auth="a:b") == ""
    assert warned(host="127.0.0.1") == "" and warned(host="localhost") == ""


def test_the_framing_line_names_the_allowed_origins_or_the_setting_to_add_one() -> None:
    from newsdesk.settings import Settings

    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert "NEWSDESK_FRAME_ANCESTORS=" in framing_line(default.server)
    wiki = default.replace(frame_ancestors="'self' https://wiki.example.com").server
    assert "https://wiki.example.com may frame /embed" in framing_line(wiki)


def test_a_kept_conversation_comes_back_whole_and_a_tampered_one_starts_afresh() -> None:
    import json

    runner = TurnRunner(ScriptedEngine(), Gate(1, 1.0))
    conv = Conversation()
    list(runner.run(conv, "What did Peskov say?", Filters()))
    list(runner.run(conv, "And then?", Filters()))
    kept = json.loads(json.dumps(conv.kept))  # what localStorage holds
    assert len(kept) == 2 and all("retrieved" not in item for item in kept)
    back = Conversation.restored(kept, inline_sources=False, keep=20)
    assert back.blocks == conv.blocks and back.turns == conv.turns
    assert back.last is not None and back.last.question == "And then?"
    assert len(Conversation.restored(kept, False, keep=1).blocks) == 1
    for tampered in ([{"question": 3}], "not a list", [None]):
        assert Conversation.restored(tampered, False, keep=20).blocks == []


def test_asking_again_without_carried_filters_replaces_the_last_exchange() -> None:
    engine = ScriptedEngine()
    runner = TurnRunner(engine, Gate(1, 1.0))
    conv = Conversation()
    list(runner.run(conv, "According to Dawn, what did Peskov say?", Filters(outlet="Dawn")))
    list(runner.run(conv, "And about Zelensky?", Filters()))
    assert engine.calls[-1][1][-1].filters == Filters(outlet="Dawn")  # carried by default
    first_block = conv.blocks[0]
    list(runner.again(conv, Filters()))
    question, history, _ = engine.calls[-1]
    assert question == "And about Zelensky?" and history[-1].filters is None
    assert history[-1].question == "According to Dawn, what did Peskov say?"
    assert conv.turns[0].filters == Filters(outlet="Dawn")  # the kept history is unchanged
    assert len(conv.turns) == len(conv.blocks) == len(conv.kept) == 2
    assert conv.blocks[0] == first_block
    failing = TurnRunner(ScriptedEngine(fail=True), Gate(1, 1.0))
    before = (list(conv.turns), list(conv.blocks), list(conv.kept))
    views = list(failing.again(conv, Filters()))
    assert "answering failed" in views[-1].transcript
    assert (conv.turns, conv.blocks, conv.kept) == before  # a failure takes nothing away
    assert list(runner.again(Conversation(), Filters())) == []
