"""Settings of retrieval, answering and the LLM endpoint (read by `newsdesk.settings`)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from index.settings import Group
from rag.types import AnswerMode


class RetrievalSettings(Group):
    """How much retrieval hands the answerer."""

    top_k: int = Field(default=6, ge=1, description="Passages retrieved per question.")
    recency_weight: float = Field(
        default=0.005,
        ge=0,
        description="Fused-score bonus for chunks of the week up to a question's as-of day "
        "(0 = none); a passage that matches much better still leads.",
    )


class AnswerSettings(Group):
    """How answers are written and how strictly their citations are checked."""

    mode: AnswerMode = Field(
        default=AnswerMode.EXTRACTIVE,
        alias="llm",
        description="Answer mode: extractive, openai (compatible) or ollama.",
    )
    answer_sentences: int = Field(
        default=3, ge=1, description="Most sentences in an extractive answer."
    )
    support_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Minimum support score for a citation to pass."
    )
    reader: str = Field(
        default="shipped",
        description="The reader that orders an extractive answer's candidate sentences beside "
        "the answer model (and abstains when its card sets a threshold no sentence reaches): "
        "shipped (the one Newsdesk ships), a folder with its model.onnx, tokenizer.json and "
        "card.json, or off (the answer model and word coverage alone).",
    )
    reader_candidates: int = Field(
        default=12, ge=1, description="The most candidate sentences the reader scores per question."
    )
    reader_tokens: int = Field(
        default=64,
        ge=16,
        le=512,
        description="The most tokens of question, sentence and context the reader reads per "
        "candidate (the context is cut first).",
    )
    answer_model: str = Field(
        default="shipped",
        description="Extractive answer model: shipped (the one Newsdesk ships), a JSON file "
        "from `python -m bench realtimeqa --train`, or none (choose by word coverage alone).",
    )


class LLMSettings(Group):
    """The LLM endpoint used by the openai and ollama answer modes."""

    base_url: str = Field(
        default="http://127.0.0.1:11434/v1",
        alias="llm_base_url",
        description="Base URL of the LLM endpoint.",
    )
    model: str = Field(
        default="llama3.1", alias="llm_model", description="Model name at the LLM endpoint."
    )
    api_key: SecretStr = Field(
        default=SecretStr(""), alias="llm_api_key", description="API key for the LLM endpoint."
    )
    timeout: float = Field(
        default=30.0, gt=0, alias="llm_timeout", description="Seconds before an LLM call fails."
    )
    retries: int = Field(
        default=1, ge=0, alias="llm_retries", description="Retries after a failed LLM call."
    )
    answer_seconds: float = Field(
        default=60.0,
        gt=0,
        alias="llm_answer_seconds",
        description="Seconds an LLM answer may take in all, retries included; past them the "
        "extractive answer is shown with a notice.",
    )
    max_reply_chars: int = Field(
        default=20_000,
        ge=100,
        alias="llm_max_reply_chars",
        description="Characters an LLM reply may hold; a longer one is cut off and the "
        "extractive answer is shown with a notice.",
    )
    context_window: int = Field(
        default=8192,
        ge=1024,
        alias="llm_context_window",
        description="Model context window in tokens.",
    )
    max_answer_tokens: int = Field(
        default=512,
        ge=32,
        alias="llm_max_answer_tokens",
        description="Tokens reserved for the LLM's answer.",
    )
    prompt_tokens: int = Field(
        default=600,
        ge=0,
        alias="llm_prompt_tokens",
        description="Tokens kept for the system prompt and the question when passages are "
        "fitted into the context window.",
    )
    passage_header_tokens: int = Field(
        default=30,
        ge=0,
        alias="llm_passage_header_tokens",
        description="Tokens counted per passage for its number, outlet, date and title.",
    )
