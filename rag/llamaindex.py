"""Newsdesk as llama-index components: a retriever and a cited-answer query engine.

`NewsdeskRetriever` hands Newsdesk's hybrid (dense + BM25) passages to any llama-index
pipeline as nodes. `NewsdeskQueryEngine` answers with Newsdesk's own verified, cited answer,
so no llama-index LLM is needed; its source nodes are exactly the passages the answer cites.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.prompts.mixin import PromptMixinType
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.filters import resolve_outlet
from rag.types import Answer, AnswerMode, Citation, Filters, Passage, Source

if TYPE_CHECKING:
    from rag.engine import Newsdesk

# A synthesizer's LLM needs outlet, date and title to attribute a passage; ids, URLs and
# character offsets would only spend prompt tokens, and none of it belongs in an embedding.
_NOT_FOR_LLM = ["doc_id", "chunk_id", "url", "start", "end", "number", "support"]
_NOT_FOR_EMBEDDING = ["outlet", "date", "title", *_NOT_FOR_LLM, "label"]
# The answer fields a caller needs beside the text and sources (timings and passages stay out).
_RESPONSE_METADATA = {"abstained", "mode", "notice", "retrieval_query", "citation_check", "filters"}


def _source_metadata(source: Source, start: int, end: int) -> dict[str, Any]:
    """JSON-able metadata of a passage: its article and its span in the article."""
    return {
        "outlet": source.outlet,
        "date": source.date.isoformat() if source.date else None,
        "title": source.title,
        "url": source.url,
        "doc_id": source.doc_id,
        "chunk_id": source.chunk_id,
        "start": start,
        "end": end,
    }


def _node(chunk_id: str, text: str, metadata: dict[str, Any]) -> TextNode:
    """A text node keyed by the chunk id, with the span also as llama-index char offsets."""
    return TextNode(
        id_=chunk_id,
        text=text,
        metadata=metadata,
        start_char_idx=metadata["start"],
        end_char_idx=metadata["end"],
        excluded_llm_metadata_keys=list(_NOT_FOR_LLM),
        excluded_embed_metadata_keys=list(_NOT_FOR_EMBEDDING),
    )


def passage_node(passage: Passage) -> NodeWithScore:
    """A retrieved passage as a llama-index node scored by its fused (RRF) score."""
    metadata = _source_metadata(passage, passage.start, passage.end)
    return NodeWithScore(node=_node(passage.chunk_id, passage.text, metadata), score=passage.score)


def citation_node(citation: Citation, score: float | None = None) -> NodeWithScore:
    """A cited passage as a llama-index node carrying its number, label and support."""
    metadata = _source_metadata(citation, *citation.span)
    metadata.update(number=citation.number, label=citation.label, support=citation.support)
    return NodeWithScore(node=_node(citation.chunk_id, citation.passage, metadata), score=score)


class NewsdeskRetriever(BaseRetriever):
    """Newsdesk's hybrid retrieval as a llama-index retriever.

    Only the explicit `filters` given here restrict the search: phrases such as "according to
    Dawn" or "last week" are read from the question by `NewsdeskQueryEngine` (Newsdesk's
    `ask`), not here, because a retriever in someone else's pipeline should search the text
    it is given.
    """

    def __init__(self, engine: Newsdesk, top_k: int = 6, filters: Filters | None = None) -> None:
        """Retrieve `top_k` passages per query from a built engine, within `filters`."""
        super().__init__()
        self.engine = engine
        self.top_k = top_k
        self.filters = filters or Filters()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        """One node per passage, best first."""
        found = self.engine.retriever.search(query_bundle.query_str, self._effective(), self.top_k)
        return [passage_node(p) for p in found.passages]

    def _effective(self) -> Filters:
        """The filters with the outlet spelled as the corpus spells it ("dawn" -> "Dawn")."""
        if not self.filters.outlet:
            return self.filters
        outlets = self.engine.retriever.catalogue().outlets
        outlet = resolve_outlet(self.filters.outlet, outlets) or self.filters.outlet
        return self.filters.model_copy(update={"outlet": outlet})


class NewsdeskQueryEngine(BaseQueryEngine):
    """Newsdesk's verified, cited answers as a llama-index query engine.

    `query(question)` runs `engine.ask`, which also reads outlet and date filters from the
    question. The response text is Newsdesk's answer with its inline markers; `source_nodes`
    are the cited passages (none when it abstained); `metadata` holds the answer's abstention,
    mode, citation check and filters as JSON-able values.
    """

    def __init__(
        self, engine: Newsdesk, filters: Filters | None = None, mode: AnswerMode | None = None
    ) -> None:
        """Answer with a built engine, within explicit `filters`, in `mode` (engine default)."""
        super().__init__(callback_manager=None)
        self.engine = engine
        self.filters = filters
        self.mode = mode

    def _get_prompt_modules(self) -> PromptMixinType:
        """No llama-index prompts: Newsdesk renders its own."""
        return {}

    def _query(self, query_bundle: QueryBundle) -> Response:
        """Ask Newsdesk and wrap its answer."""
        answer = self.engine.ask(query_bundle.query_str, filters=self.filters, mode=self.mode)
        return answer_response(answer)

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        """Ask in a worker thread: answering embeds and scores on the CPU and would block."""
        return await asyncio.to_thread(self._query, query_bundle)


def answer_response(answer: Answer) -> Response:
    """A Newsdesk answer as a llama-index response whose source nodes are its citations."""
    scores = {p.chunk_id: p.score for p in answer.retrieved}
    cited = [] if answer.abstained else answer.citations
    nodes = [citation_node(c, scores.get(c.chunk_id)) for c in cited]
    metadata = answer.model_dump(mode="json", include=_RESPONSE_METADATA)
    return Response(response=answer.answer, source_nodes=nodes, metadata=metadata)
