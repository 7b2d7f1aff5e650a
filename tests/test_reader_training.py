"""The reader's training command, end to end on a tiny sample, and the files it ships."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import reader_data
from bench.export_reader import load_torch
from rag.reader import Reader, ReaderFileError, candidate_text, shipped_reader_dir
from tests.conftest import ROOT

FILLER = [
    "The committee met again on Tuesday to review the budget for next year.",
    "Officials said the weather had delayed several flights across the region.",
    "A spokesperson declined to comment on the matter when asked by reporters.",
    "The company reported higher sales in its third quarter than a year before.",
    "Residents gathered in the square to celebrate the festival on Sunday night.",
    "Analysts expect the central bank to keep interest rates steady this month.",
    "The museum will reopen its east wing after two years of renovation work.",
    "Local schools will close early on Friday because of the expected storm.",
]


def _example(n: int, date: str) -> reader_data.Example:
    city = ["Geneva", "Istanbul", "Doha", "Riyadh", "Oslo", "Vienna"][n % 6]
    answer = reader_data.Candidate(
        f"The negotiators met in {city} on Monday for a new round of talks.", "Talks", "", 1, 0.6
    )
    others = [reader_data.Candidate(t, "Other news", "", 0, 0.1) for t in FILLER]
    return reader_data.Example(f"q{n}", "Where did the negotiators meet?", date, [answer, *others])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A three-layer reader trained for one epoch on ten handmade questions, exported as Newsdesk
    ships it."""
    base = tmp_path_factory.mktemp("reader")
    examples = [_example(n, "2023/05/01") for n in range(8)]
    examples += [_example(n, "2024/11/01") for n in range(8, 10)]
    reader_data.save(examples, base / "examples.jsonl")
    command = [
        sys.executable, "-m", "bench.train_reader", "--examples", str(base / "examples.jsonl"),
        "--out", str(base / "run"), "--model-dir", str(base / "model"), "--epochs", "1",
        "--batch-groups", "2", "--top", "9", "--seed", "0", "--echoes", "0.5",
        "--layers", "3", "--teacher", str(shipped_reader_dir()),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reader written to" in done.stdout
    return base


def test_the_training_command_writes_a_model_a_tokenizer_and_a_card(trained: Path) -> None:
    model = trained / "model"
    assert sorted(p.name for p in model.iterdir()) == ["card.json", "model.onnx", "tokenizer.json"]
    card = json.loads((model / "card.json").read_text())
    assert {"threshold", "training_data", "command", "commit", "dev_lead_accuracy"} <= set(card)
    assert card["echoes"] == 0.5 and card["max_tokens"] > 0 and card["layers"] == 3
    assert card["teacher"] == str(shipped_reader_dir()) and card["init"] is None
    assert "epoch 0: dev lead" in (trained / "run" / "train.log").read_text()


def test_an_echo_negative_repeats_the_questions_words_without_its_answer() -> None:
    import random

    question = "What did the Kremlin say about European peacekeepers in Ukraine?"
    echo = reader_data.echo(question, "Kremlin briefing", random.Random(1))
    said = set(reader_data.words(echo.text))
    assert set(reader_data.words(question)) - {"say"} <= said
    assert echo.label == 0 and echo.title == "Kremlin briefing" and echo.text.endswith(".")


def test_groups_with_echoes_keep_the_positive_first_and_their_size() -> None:
    examples = [_example(n, "2023/05/01") for n in range(6)]
    plain = reader_data.groups(examples, 8, seed=0, positives=1)
    echoed = reader_data.groups(examples, 8, seed=0, positives=1, echoes=1.0)
    assert all(len(g) == 8 and g[0].label == 1 for _, g in plain + echoed)
    assert all(g[-1].text not in FILLER and g[-1].label == 0 for _, g in echoed)
    assert all(g[-1].text in FILLER for _, g in plain)


class _Teacher:
    """A teacher that scores the candidates of every group alike."""

    def __init__(self, scores: list[float]) -> None:
        self.scores = scores

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        return np.array(self.scores[: len(texts)], dtype=np.float32)


def test_distillation_costs_nothing_when_the_student_orders_as_the_teacher() -> None:
    import torch

    from bench.train_reader import GROUP, _distillation

    teacher = [float(i) for i in range(GROUP)]
    chunk: list[tuple[str, list[reader_data.Candidate]]] = [("q", []), ("q", [])]
    texts = ["t"] * (2 * GROUP)
    same = torch.tensor([teacher, teacher])
    reversed_ = torch.tensor([teacher[::-1], teacher[::-1]])
    assert float(_distillation(same, _Teacher(teacher), chunk, texts)) < 1e-5
    assert float(_distillation(reversed_, _Teacher(teacher), chunk, texts)) > 0.1


def test_training_can_start_from_an_earlier_runs_weights(trained: Path) -> None:
    import torch

    from bench.train_reader import Model, _load_weights
    from index.embedding import bundled_model_dir

    fresh = Model(bundled_model_dir(), seed=1, layers=3)
    saved = torch.load(trained / "run" / "best.pt", weights_only=False)
    assert not torch.equal(fresh.head.weight, saved["head"]["weight"])
    _load_weights(fresh, trained / "run" / "best.pt")
    assert torch.equal(fresh.head.weight, saved["head"]["weight"])
    layer = "encoder.layer.2.output.dense.weight"
    assert torch.equal(fresh.encoder.state_dict()[layer], saved["encoder"][layer])


def test_starting_from_weights_that_are_not_there_fails_with_one_line(tmp_path: Path) -> None:
    from bench.train_reader import Model, _load_weights
    from index.embedding import bundled_model_dir

    with pytest.raises(SystemExit, match=r"--init .*no such file"):
        _load_weights(Model(bundled_model_dir(), seed=0, layers=3), tmp_path / "best.pt")


def test_a_stopped_run_resumes_from_its_checkpoint(trained: Path) -> None:
    import torch

    from bench.train_reader import Model, _resume
    from index.embedding import bundled_model_dir

    model = Model(bundled_model_dir(), seed=1, layers=3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    state = _resume(trained / "run", model, optimizer)
    assert state["epoch"] == 1 and state["step"] == 0
    saved = torch.load(trained / "run" / "checkpoint.pt", weights_only=True)
    assert torch.equal(model.head.weight, saved["head"]["weight"])


def test_onnx_and_pytorch_scores_agree(trained: Path) -> None:
    import torch

    reader = Reader(trained / "model")
    torch_model = load_torch(trained / "run" / "best.pt")
    assert len(torch_model.encoder.encoder.layer) == 3  # as trained, not the bundled six
    question = "Where did the negotiators meet?"
    texts = [candidate_text(t, "Talks", "") for t in FILLER[:4]]
    onnx = reader.score(question, texts)
    batch = reader_tokens(reader, question, texts)
    with torch.no_grad():
        expected = torch_model(**batch).numpy()
    assert np.allclose(onnx, expected, atol=0.15)  # int8 weights: close, not equal
    assert np.argsort(onnx)[-1] == np.argsort(expected)[-1]


def reader_tokens(reader: Reader, question: str, texts: list[str]) -> dict[str, object]:
    """The reader's own tokens of the pairs, as PyTorch tensors."""
    import torch

    encoded = reader._tokenizer.encode_batch([(question, t) for t in texts])
    return {
        "input_ids": torch.tensor([e.ids for e in encoded]),
        "attention_mask": torch.tensor([e.attention_mask for e in encoded]),
        "token_type_ids": torch.tensor([e.type_ids for e in encoded]),
    }


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_broken_reader_file_fails_with_one_line_naming_it(
    trained: Path, tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / "reader"
    folder.mkdir()
    for name in ("card.json", "tokenizer.json", "model.onnx"):
        (folder / name).write_bytes((trained / "model" / name).read_bytes())
    if damage == "missing":
        (folder / "model.onnx").unlink()
    else:
        (folder / "model.onnx").write_bytes(b"\x00not a model" * 100)
    with pytest.raises(ReaderFileError) as raised:
        Reader(folder)
    message = str(raised.value)
    assert "\n" not in message and str(folder / "model.onnx") in message
    assert damage in message and "NEWSDESK_READER=off" in message


def test_a_card_whose_weight_is_not_a_number_fails_with_one_line_naming_it(
    trained: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "reader"
    folder.mkdir()
    for name in ("tokenizer.json", "model.onnx"):
        (folder / name).write_bytes((trained / "model" / name).read_bytes())
    card = json.loads((trained / "model" / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**card, "weight": "heavy"}))
    with pytest.raises(ReaderFileError) as raised:
        Reader(folder)
    message = str(raised.value)
    assert "\n" not in message and str(folder / "card.json") in message and "corrupt" in message
