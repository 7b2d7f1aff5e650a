"""The LLM behind one small interface, through llama-index's OpenAI-compatible and Ollama classes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Protocol

from rag.settings import LLMSettings
from rag.types import AnswerMode


class LLMError(RuntimeError):
    """The LLM endpoint failed, timed out or answered nonsense."""


class ChatModel(Protocol):
    """What the answering layer needs from an LLM."""

    name: str
    kind: AnswerMode  # the answer mode it serves
    context_window: int  # tokens the prompt and the answer share
    max_answer_tokens: int  # of which the answer may take this many

    def complete(self, system: str, user: str) -> str:
        """The full reply to a system + user message pair."""
        ...

    def stream(self, system: str, user: str) -> Iterator[str]:
        """The reply, piece by piece."""
        ...

    def reachable(self) -> bool:
        """True when the endpoint answers at all."""
        ...


class LlamaIndexChat:
    """An OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp, LM Studio) or Ollama."""

    def __init__(self, kind: AnswerMode, settings: LLMSettings) -> None:
        self.kind = kind
        self.base_url = settings.base_url.rstrip("/")
        self.model = settings.model
        self.api_key = settings.api_key.get_secret_value()
        self.timeout = settings.timeout
        self.retries = settings.retries
        self.answer_seconds = settings.answer_seconds
        self.max_reply_chars = settings.max_reply_chars
        self.context_window = settings.context_window
        self.max_answer_tokens = settings.max_answer_tokens
        self.name = f"{kind}:{settings.model}"
        self._llm: Any = None

    def _client(self) -> Any:
        if self._llm is None:
            if self.kind is AnswerMode.OLLAMA:
                from llama_index.llms.ollama import Ollama

                self._llm = Ollama(
                    model=self.model,
                    base_url=self.base_url.removesuffix("/v1"),
                    request_timeout=self.timeout,
                    context_window=self.context_window,
                )
            else:
                from llama_index.llms.openai_like import OpenAILike

                self._llm = OpenAILike(
                    model=self.model,
                    api_base=self.base_url,
                    api_key=self.api_key or "not-needed",
                    timeout=self.timeout,
                    max_retries=0,
                    is_chat_model=True,
                    context_window=self.context_window,
                    max_tokens=self.max_answer_tokens,
                    temperature=0.0,
                )
        return self._llm

    def _messages(self, system: str, user: str) -> list[Any]:
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]

    def complete(self, system: str, user: str) -> str:
        """The full reply, retried `retries` times on failure."""
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                reply = self._client().chat(self._messages(system, user))
                return self._checked(str(reply.message.content or ""))
            except LLMError:
                raise
            except Exception as exc:
                last = exc
                if attempt < self.retries:
                    time.sleep(min(0.5 * (attempt + 1), 2.0))
        raise LLMError(f"LLM at {self.base_url} failed: {_short(last)}")

    def stream(self, system: str, user: str) -> Iterator[str]:
        """Reply deltas; failures before the first delta are retried. The whole answer, retries
        included, must end within `answer_seconds` and hold at most `max_reply_chars`: an
        endpoint that drips empty deltas or never stops would otherwise hold an answer slot."""
        deadline = time.monotonic() + self.answer_seconds
        for attempt in range(self.retries + 1):
            started = False
            size = 0
            chunks: Any = None
            try:
                chunks = self._client().stream_chat(self._messages(system, user))
                for chunk in chunks:
                    self._within(deadline, size)
                    if chunk.delta:
                        started = True
                        size += len(chunk.delta)
                        self._within(deadline, size)
                        yield self._checked(chunk.delta)
                return
            except LLMError:
                raise
            except Exception as exc:
                if started or attempt == self.retries or time.monotonic() > deadline:
                    raise LLMError(f"LLM at {self.base_url} failed: {_short(exc)}") from exc
            finally:
                _abandon(chunks)

    def _within(self, deadline: float, size: int) -> None:
        if time.monotonic() > deadline:
            raise LLMError(
                f"LLM at {self.base_url} took longer than {self.answer_seconds:g} s "
                "(NEWSDESK_LLM_ANSWER_SECONDS)"
            )
        if size > self.max_reply_chars:
            raise LLMError(
                f"LLM at {self.base_url} replied with more than {self.max_reply_chars} "
                "characters (NEWSDESK_LLM_MAX_REPLY_CHARS)"
            )

    def _checked(self, text: str) -> str:
        """`text`, if it is text that can be shown: no lone surrogates, within the size cap."""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise LLMError(f"LLM at {self.base_url} replied with text that is not valid") from None
        if len(text) > self.max_reply_chars:
            self._within(float("inf"), len(text))
        return text

    def reachable(self) -> bool:
        """A quick GET of the model list."""
        import httpx

        url = (
            f"{self.base_url.removesuffix('/v1')}/api/tags"
            if self.kind is AnswerMode.OLLAMA
            else f"{self.base_url}/models"
        )
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            return httpx.get(url, headers=headers, timeout=min(self.timeout, 2.0)).status_code < 500
        except httpx.HTTPError:
            return False


def _abandon(chunks: Any) -> None:
    """Close a reply stream, finished or not, and its HTTP response with it, so an endpoint that
    is cut off stops working too. openai's stream object holds its own iterator (a reference
    cycle), so only the cycle collector would close the response: collect it now."""
    if chunks is None or not hasattr(chunks, "close"):
        return
    running = getattr(chunks, "gi_frame", None) is not None
    chunks.close()
    if running:
        import gc

        gc.collect()


def _short(exc: Exception | None) -> str:
    text = str(exc) if exc else "unknown error"
    return (text.splitlines() or [type(exc).__name__])[0][:200]
