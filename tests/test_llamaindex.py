"""Newsdesk inside llama-index: the retriever and the cited-answer query engine, real model."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from llama_index.core.llms.mock import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode

from rag.llamaindex import NewsdeskQueryEngine, NewsdeskRetriever
from rag.types import Filters

README = Path(__file__).resolve().parent.parent / "README.md"
SUBSTATION = "Where was equipment at a key substation hit?"


def readme_example() -> str:
    """The code block of the README's "From a llama-index application" subsection."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### From a llama-index application", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the README subsection has no python code block"
    return found.group(1)


def test_retriever_returns_nodes_with_outlet_date_title_url_and_span(engine) -> None:  # type: ignore[no-untyped-def]
    nodes = NewsdeskRetriever(engine, top_k=4).retrieve(SUBSTATION)
    assert 0 < len(nodes) <= 4
    first = nodes[0]
    assert "Sumy" in first.node.get_content()
    meta = first.node.metadata
    assert (meta["outlet"], meta["date"], meta["doc_id"]) == (
        "Al Jazeera",
        "2025-08-27",
        "001_c81ca98ac9a2360a",
    )
    assert meta["title"].startswith("Russia opposed to European security guarantees")
    assert "url" in meta and meta["url"] is None  # the seed corpus has no URLs
    assert first.node.node_id == meta["chunk_id"]
    assert 0 <= meta["start"] < meta["end"]
    assert (first.node.start_char_idx, first.node.end_char_idx) == (meta["start"], meta["end"])
    scores = [n.score or 0.0 for n in nodes]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_retriever_keeps_to_its_explicit_outlet_filter(engine) -> None:  # type: ignore[no-untyped-def]
    retriever = NewsdeskRetriever(engine, filters=Filters(outlet="dawn"))
    nodes = retriever.retrieve("What did Peskov say about security guarantees?")
    assert nodes and {n.node.metadata["outlet"] for n in nodes} == {"Dawn"}


def test_retriever_feeds_a_llama_index_synthesizer_with_attribution_and_no_network(engine) -> None:  # type: ignore[no-untyped-def]
    # MockLLM echoes its prompt, so the response shows exactly what a real LLM would be given.
    pipeline = RetrieverQueryEngine.from_args(NewsdeskRetriever(engine, top_k=2), llm=MockLLM())
    response = pipeline.query(SUBSTATION)
    assert len(response.source_nodes) == 2
    prompt = str(response)
    assert "Sumy" in prompt and "outlet: Al Jazeera" in prompt and "date: 2025-08-27" in prompt
    llm_view = response.source_nodes[0].node.get_content(MetadataMode.LLM)
    assert "doc_id" not in llm_view and "start:" not in llm_view


def test_query_engine_returns_the_cited_answer_with_cited_source_nodes(engine) -> None:  # type: ignore[no-untyped-def]
    response = NewsdeskQueryEngine(engine).query(SUBSTATION)
    expected = engine.ask(SUBSTATION)
    assert response.response == expected.answer and "Sumy" in response.response
    assert len(response.source_nodes) == len(expected.citations) > 0
    for node, citation in zip(response.source_nodes, expected.citations, strict=True):
        meta = node.node.metadata
        assert f"[{meta['number']}: {meta['label']}]" in response.response
        assert (meta["number"], meta["label"], meta["support"]) == (
            citation.number,
            citation.label,
            citation.support,
        )
        assert node.node.get_content() == citation.passage
        assert (meta["start"], meta["end"]) == citation.span
    first = response.source_nodes[0].node.metadata
    assert (first["outlet"], first["date"]) == ("Al Jazeera", "2025-08-27")
    assert response.metadata is not None and response.metadata["abstained"] is False
    assert response.metadata["mode"] == "extractive"
    check = response.metadata["citation_check"]
    assert check["passed"] == check["total"] == len(expected.citations)
    json.dumps(response.metadata)  # JSON-able, as an application would log or send it


def test_query_engine_reads_the_outlet_named_in_the_question(engine) -> None:  # type: ignore[no-untyped-def]
    response = NewsdeskQueryEngine(engine).query(
        "According to Dawn, how many households lost power?"
    )
    assert response.metadata is not None
    assert response.metadata["filters"]["effective"]["outlet"] == "Dawn"
    assert response.source_nodes
    assert {n.node.metadata["outlet"] for n in response.source_nodes} == {"Dawn"}


def test_off_corpus_question_abstains_with_no_source_nodes(engine) -> None:  # type: ignore[no-untyped-def]
    response = NewsdeskQueryEngine(engine).query("Who won the 2025 Nobel Peace Prize?")
    assert response.source_nodes == []
    assert response.metadata is not None and response.metadata["abstained"] is True
    assert str(response).startswith("The corpus does not cover this question.")


def test_async_query_gives_the_same_answer(engine) -> None:  # type: ignore[no-untyped-def]
    query_engine = NewsdeskQueryEngine(engine)
    response = asyncio.run(query_engine.aquery(SUBSTATION))
    assert response.response == query_engine.query(SUBSTATION).response


def test_readme_llama_index_example_runs(engine, capsys) -> None:  # type: ignore[no-untyped-def]
    exec(readme_example(), {"engine": engine})
    printed = capsys.readouterr().out
    assert "Al Jazeera" in printed and "Sumy" in printed
