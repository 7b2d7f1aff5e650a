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
                return str(reply.message.content or "")
            except Exception as exc:
                last = exc
                if attempt < self.retries:
                    time.sleep(min(0.5 * (attempt + 1), 2.0))
        raise LLMError(f"LLM at {self.base_url} failed: {_short(last)}")

    def stream(self, system: str, user: str) -> Iterator[str]:
        """Reply deltas; failures before the first delta are retried."""
        for attempt in range(self.retries + 1):
            started = False
            try:
                for chunk in self._client().stream_chat(self._messages(system, user)):
                    if chunk.delta:
                        started = True
                        yield chunk.delta
                return
            except Exception as exc:
                if started or attempt == self.retries:
                    raise LLMError(f"LLM at {self.base_url} failed: {_short(exc)}") from exc

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


def _short(exc: Exception | None) -> str:
    text = str(exc) if exc else "unknown error"
    return (text.splitlines() or [type(exc).__name__])[0][:200]
