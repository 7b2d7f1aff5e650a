"""The command line: help, corpus listing, ask, settings and errors a user can cause."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from newsdesk.cli import main
from newsdesk.settings import FLAT_NAMES, GROUPS, Settings, variable_names
from rag.types import AnswerMode
from tests.conftest import ROOT


def run(args: list[str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_help_lists_every_subcommand() -> None:
    out = run(["--help"]).output
    for command in ("ingest", "corpus", "ask", "serve", "eval"):
        assert re.search(rf"^\s+{command}\b", out, re.M), command
    assert not re.search(r"^\s+bench\b", out, re.M)  # benchmarks run from the repo: python -m bench


def test_corpus_json_lists_documents_with_metadata(seed_settings) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(run(["corpus", "--json", "--data-dir", str(seed_settings.data_dir)]).output)
    assert [r["doc_id"] for r in rows][:2] == ["000_19c6ca84e65b3e46", "001_c81ca98ac9a2360a"]
    dawn = rows[0]
    assert (dawn["outlet"], dawn["date"], dawn["chunks"] > 0) == ("Dawn", "2025-08-28", True)
    assert rows[4]["outlet"] is None and rows[4]["date"] is None


def test_corpus_on_an_empty_index_says_how_to_ingest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert "newsdesk ingest" in run(["corpus", "--data-dir", str(tmp_path)]).output


def test_ask_prints_cited_answer_and_passages(seed_settings) -> None:  # type: ignore[no-untyped-def]
    result = run(
        [
            "ask",
            "Where was equipment at a key substation hit?",
            "--passages",
            "-k",
            "3",
            "--data-dir",
            str(seed_settings.data_dir),
        ]
    )
    assert "[1: Al Jazeera, 27 Aug 2025]" in result.output
    assert "Retrieved passages:" in result.output and "001_c81ca98ac9a2360a" in result.output
    assert "score" in result.output


def test_ask_json_prints_the_typed_result_with_filters(seed_settings) -> None:  # type: ignore[no-untyped-def]
    result = run(
        [
            "ask",
            "What did the Kremlin say?",
            "--json",
            "--outlet",
            "Dawn",
            "--since",
            "2025-08-01",
            "--until",
            "2025-08-31",
            "--as-of",
            "2025-08-29",
            "--data-dir",
            str(seed_settings.data_dir),
        ]
    )
    data = json.loads(result.output)
    assert data["filters"]["effective"] == {
        "outlet": "Dawn",
        "since": "2025-08-01",
        "until": "2025-08-31",
        "as_of": "2025-08-29",
    }
    assert {c["outlet"] for c in data["citations"]} == {"Dawn"}
    assert set(data) >= {"answer", "citations", "abstained", "retrieved", "timings"}


def test_bad_date_flag_is_one_clear_line(seed_settings) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main, ["ask", "x", "--since", "last tuesday", "--data-dir", str(seed_settings.data_dir)]
    )
    assert result.exit_code == 2
    assert (
        result.output.strip() == "Error: --since must be a date like 2025-08-27, not 'last tuesday'"
    )


def test_missing_path_is_one_clear_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main, ["ingest", str(tmp_path / "nope"), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "no such file or folder" in result.output


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    for flat in [*FLAT_NAMES, "corpus_dir"]:
        variable = variable_names(flat)[0]
        assert f"# {variable}=" in text, variable
    for group in GROUPS.values():
        for name, field in group.model_fields.items():
            assert field.description, name


def test_settings_come_from_the_environment(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHROMA_HOST", "db.internal")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.data_dir == tmp_path and settings.store.chroma_host == "db.internal"
    monkeypatch.setenv("NEWSDESK_LLM", "ollama")
    monkeypatch.setenv("NEWSDESK_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("NEWSDESK_LLM_API_KEY", "k3y")
    settings = Settings(_env_file=None, top_k=2)  # type: ignore[call-arg]
    assert settings.answer.mode is AnswerMode.OLLAMA and settings.retrieval.top_k == 2
    assert settings.server.cors_origins == ("https://a.example", "https://b.example")
    assert settings.llm_endpoint.api_key.get_secret_value() == "k3y"
    assert "k3y" not in repr(settings)


def test_cli_starts_without_heavy_imports() -> None:
    code = "import sys, newsdesk.cli; print(any(m in sys.modules for m in ('torch', 'gradio', 'chromadb', 'llama_index.core')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_a_group_given_in_code_beats_the_environment_and_typos_fail(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rag.settings import RetrievalSettings

    monkeypatch.setenv("NEWSDESK_TOP_K", "4")
    assert Settings(_env_file=None).retrieval.top_k == 4  # type: ignore[call-arg]
    given = Settings(_env_file=None, retrieval=RetrievalSettings(top_k=2))  # type: ignore[call-arg]
    assert given.retrieval.top_k == 2
    assert given.replace(top_k=9).retrieval.top_k == 9
    with pytest.raises(ValueError, match="no such setting: topk"):
        given.replace(topk=3)
