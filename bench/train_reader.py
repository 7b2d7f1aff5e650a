"""Fine-tune the reader: a cross-encoder that scores a question against one candidate sentence.

    python -m bench.train_reader [--examples FILE] [--out DIR] [--epochs 2] [--seed 0]

The shipped MiniLM-L6 weights (6-layer BERT) read "question [SEP] sentence || title || previous
sentence"; the mean of the last layer over the tokens, through a linear head, is the score.
Training is listwise: each group holds a sentence stating the answer and seven that do not (the
four sharing most words with the question, three at random; with `--echoes`, the last of those
may be the question restated, which shares its words and answers nothing), and the loss is the
cross-entropy of the softmax over the group. Examples come from `bench.reader_data` (RealTimeQA 2022-2024);
the last weeks of 2024 pick the best epoch and the abstention threshold, and the model is exported
to ONNX (int8) with its tokenizer and a card. Deterministic for a seed; a checkpoint after every
`--save-every` steps lets a stopped run resume.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import reader_data
from rag.extractive import z_scores

MAX_TOKENS = 128
GROUP = 8
# What picks the epoch on the development set: the reader's own lead, or its lead beside the
# candidates' given order (z-scores summed, as the answerer orders them).
SELECT = {"reader": "lead_accuracy", "both": "sum_lead_accuracy"}


def reader_text(sentence: str, title: str, previous: str) -> str:
    """What the reader reads beside the question (the product's `rag.reader` builds the same)."""
    from rag.reader import candidate_text

    return candidate_text(sentence, title, previous)


class Model:
    """MiniLM's encoder with mean pooling and a linear head, in PyTorch."""

    def __init__(
        self, source: Path, seed: int, max_tokens: int = MAX_TOKENS, layers: int = 0
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from bench.export_reader import keep_layers

        torch.manual_seed(seed)
        self.tokenizer = AutoTokenizer.from_pretrained(str(source))
        self.encoder = AutoModel.from_pretrained(str(source))
        keep_layers(self.encoder, layers)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
        self.max_tokens = max_tokens

    def parameters(self) -> list[Any]:
        return [*self.encoder.parameters(), *self.head.parameters()]

    def encode(self, questions: list[str], texts: list[str]) -> Any:
        return self.tokenizer(
            questions,
            texts,
            truncation="only_second",
            max_length=self.max_tokens,
            padding=True,
            return_tensors="pt",
        )

    def scores(self, batch: Any) -> Any:
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


def score_examples(
    model: Model, examples: list[reader_data.Example], top: int
) -> list[list[float]]:
    """The reader's scores of each example's `top` best lexical candidates."""
    import torch

    out: list[list[float]] = []
    with torch.no_grad():
        for e in examples:
            cands = e.candidates[:top]
            if not cands:
                out.append([])
                continue
            texts = [reader_text(c.text, c.title, c.previous) for c in cands]
            batch = model.encode([e.question] * len(cands), texts)
            out.append(model.scores(batch).tolist())
    return out


def dev_report(examples: list[reader_data.Example], scores: list[list[float]], top: int) -> dict:
    """Lead-sentence accuracy on answerable questions, and what a threshold on the best score
    would do to answerable and unanswerable ones."""
    lead, lexical, summed, best_yes, best_no = [], [], [], [], []
    for e, s in zip(examples, scores, strict=True):
        if not s:
            continue
        cands = e.candidates[:top]
        if e.answerable:
            lead.append(cands[int(np.argmax(s))].label)
            lexical.append(cands[0].label)
            both = z_scores(np.array(s)) + z_scores(np.array([c.overlap for c in cands]))
            summed.append(cands[int(np.argmax(both))].label)
            best_yes.append(max(s))
        else:
            best_no.append(max(s))
    return {
        "lead_accuracy": float(np.mean(lead)) if lead else 0.0,
        "lexical_lead_accuracy": float(np.mean(lexical)) if lexical else 0.0,
        "sum_lead_accuracy": float(np.mean(summed)) if summed else 0.0,
        "answerable": len(lead),
        "best_answerable": best_yes,
        "best_unanswerable": best_no,
    }


def threshold_for(best_answerable: list[float], false_abstention: float) -> float:
    """The highest threshold that abstains on at most `false_abstention` of answerable ones."""
    ordered = sorted(best_answerable)
    return float(ordered[int(false_abstention * len(ordered))]) if ordered else 0.0


def train(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    examples = [e for path in args.examples for e in reader_data.load(path)]
    train_set, dev = reader_data.split(examples)
    if args.dev_examples:  # the development weeks as the engine hands the reader its candidates
        dev = reader_data.split(reader_data.load(args.dev_examples))[1]
    if args.limit:
        train_set, dev = train_set[: args.limit], dev[: max(4, args.limit // 4)]
    from index.embedding import bundled_model_dir

    model = Model(bundled_model_dir(), args.seed, args.max_tokens, args.layers)
    if args.init:
        _load_weights(model, args.init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    args.out.mkdir(parents=True, exist_ok=True)
    state = _resume(args.out, model, optimizer)
    log = (args.out / "train.log").open("a")
    for epoch in range(state["epoch"], args.epochs):
        groups = reader_data.groups(
            train_set, GROUP, args.seed + epoch, args.positives, echoes=args.echoes
        )
        _run_epoch(model, optimizer, groups, epoch, state, args, log)
        model.encoder.eval()
        scores = score_examples(model, dev, args.top)
        report = dev_report(dev, scores, args.top)
        line = f"epoch {epoch}: dev lead {report['lead_accuracy']:.3f} "
        line += f"(lexical {report['lexical_lead_accuracy']:.3f}, "
        line += f"both {report['sum_lead_accuracy']:.3f}, n={report['answerable']})"
        print(line, file=log, flush=True)
        print(line, flush=True)
        state.update(epoch=epoch + 1, step=0)
        if report[SELECT[args.select]] >= state.get("best", -1.0):
            state["best"] = report[SELECT[args.select]]
            _save_weights(model, args.out / "best.pt")
            (args.out / "dev.json").write_text(json.dumps(report))
        _checkpoint(args.out, model, optimizer, state)
    _finish(args)


def _run_epoch(
    model: Model,
    optimizer: Any,
    groups: list[tuple[str, list[reader_data.Candidate]]],
    epoch: int,
    state: dict,
    args: argparse.Namespace,
    log: Any,
) -> None:
    import torch

    model.encoder.train()
    started, seen = time.time(), 0
    teacher = _teacher(args.teacher, args.max_tokens) if args.teacher else None
    for step in range(state["step"], len(groups), args.batch_groups):
        chunk = groups[step : step + args.batch_groups]
        texts = [reader_text(c.text, c.title, c.previous) for _, g in chunk for c in g]
        qs = [q for q, g in chunk for _ in g]
        logits = model.scores(model.encode(qs, texts)).view(len(chunk), GROUP)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(chunk), dtype=torch.long))
        if teacher is not None:
            loss = loss + _distillation(logits, teacher, chunk, texts)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(texts)
        if (step // args.batch_groups) % 20 == 0:
            rate = seen / max(time.time() - started, 1e-9)
            print(
                f"epoch {epoch} step {step}/{len(groups)} loss {loss.item():.3f} "
                f"{rate:.1f} pairs/s",
                file=log,
                flush=True,
            )
        if step and (step // args.batch_groups) % args.save_every == 0:
            state["step"] = step + args.batch_groups
            _checkpoint(args.out, model, optimizer, state)


DISTILL_TEMPERATURE = 2.0


def _teacher(folder: Path, max_tokens: int) -> Any:
    from rag.reader import Reader

    return Reader(folder, max_tokens)


def _distillation(logits: Any, teacher: Any, chunk: list, texts: list[str]) -> Any:
    """How far the student's softmax over each group is from the teacher reader's (KL, softened
    by DISTILL_TEMPERATURE): a shallower student learns the teacher's whole order, not only
    which candidate answers."""
    import torch

    t = DISTILL_TEMPERATURE
    rows = [teacher.score(q, texts[i * GROUP : (i + 1) * GROUP]) for i, (q, _) in enumerate(chunk)]
    target = torch.softmax(torch.tensor(np.stack(rows)) / t, dim=-1)
    student = torch.log_softmax(logits / t, dim=-1)
    return torch.nn.functional.kl_div(student, target, reduction="batchmean") * t * t


def _save_weights(model: Model, path: Path) -> None:
    import torch

    torch.save({"encoder": model.encoder.state_dict(), "head": model.head.state_dict()}, path)


def _load_weights(model: Model, path: Path) -> None:
    """Start from a trained reader's weights (`_save_weights`), to train it further."""
    _read_into(model, path, "--init")


def _read_into(model: Model, path: Path, what: str) -> dict:
    """A saved reader (`_save_weights`, `_checkpoint`) loaded into `model`, and all that was
    saved with it; one line naming `what` and the file when it cannot be."""
    import torch

    try:
        saved = torch.load(path, weights_only=True)
        model.encoder.load_state_dict(saved["encoder"])
        model.head.load_state_dict(saved["head"])
    except FileNotFoundError:
        raise SystemExit(f"{what} {path}: no such file; give a training run's best.pt") from None
    except (RuntimeError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SystemExit(f"{what} {path}: not a reader of this depth ({first})") from None
    return dict(saved)


def _checkpoint(out: Path, model: Model, optimizer: Any, state: dict) -> None:
    import torch

    tmp = out / "checkpoint.pt.tmp"
    torch.save(
        {
            "encoder": model.encoder.state_dict(),
            "head": model.head.state_dict(),
            "optimizer": optimizer.state_dict(),
            "state": state,
        },
        tmp,
    )
    tmp.replace(out / "checkpoint.pt")


def _resume(out: Path, model: Model, optimizer: Any) -> dict:
    path = out / "checkpoint.pt"
    if not path.exists():
        return {"epoch": 0, "step": 0}
    saved = _read_into(model, path, "the checkpoint in --out")
    optimizer.load_state_dict(saved["optimizer"])
    print(f"resuming at {saved['state']}", flush=True)
    return dict(saved["state"])


def _finish(args: argparse.Namespace) -> None:
    """Export the best epoch to ONNX (int8) with its tokenizer, threshold and card."""
    from bench.export_reader import export

    report = json.loads((args.out / "dev.json").read_text())
    threshold = threshold_for(report["best_answerable"], args.false_abstention)
    export(args.out / "best.pt", args.model_dir, threshold, _card(args, report, threshold))
    print(f"reader written to {args.model_dir} (threshold {threshold:.3f})", flush=True)


def _card(args: argparse.Namespace, report: dict, threshold: float) -> dict:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    no = report["best_unanswerable"]
    return {
        "model": "MiniLM-L6 (all-MiniLM-L6-v2 weights) cross-encoder, mean pooling, linear head",
        "training_data": "RealTimeQA 2022-2024 (../shared/bench/realtimeqa-2022-2024), "
        f"questions before {reader_data.DEV_FROM}; development: from {reader_data.DEV_FROM}",
        "examples": [str(p) for p in args.examples],
        "dev_examples": str(args.dev_examples or args.examples[0]),
        "command": "python -m bench.train_reader " + " ".join(sys.argv[1:]),
        "commit": commit,
        "epochs": args.epochs,
        "seed": args.seed,
        "max_tokens": args.max_tokens,
        "echoes": args.echoes,
        "layers": args.layers or 6,
        "teacher": str(args.teacher) if args.teacher else None,
        "init": str(args.init) if args.init else None,
        "threshold": threshold,
        "threshold_rule": f"abstains on {args.false_abstention:.0%} of answerable dev questions",
        "dev_lead_accuracy": report["lead_accuracy"],
        "dev_lexical_lead_accuracy": report["lexical_lead_accuracy"],
        "dev_both_lead_accuracy": report["sum_lead_accuracy"],
        "epoch_rule": f"the epoch with the best development {SELECT[args.select]}",
        "dev_answerable": report["answerable"],
        "dev_unanswerable_abstained": float(np.mean([s < threshold for s in no])) if no else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--examples", type=Path, nargs="+", default=[Path(".reader/examples.jsonl")]
    )
    parser.add_argument(
        "--dev-examples", type=Path, help="development candidates (default: those of --examples)"
    )
    parser.add_argument("--select", choices=sorted(SELECT), default="reader")
    parser.add_argument("--out", type=Path, default=Path(".reader/run"))
    parser.add_argument("--model-dir", type=Path, default=Path("rag/models/reader"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--positives", type=int, default=1, help="groups per question an epoch")
    parser.add_argument("--batch-groups", type=int, default=4)
    parser.add_argument("--top", type=int, default=30, help="dev candidates per question")
    parser.add_argument("--false-abstention", type=float, default=0.06)
    parser.add_argument("--save-every", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="questions (0 = all): a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-tokens", type=int, default=MAX_TOKENS, help="question and candidate, per pair"
    )
    parser.add_argument(
        "--teacher", type=Path, help="a reader folder whose order the student also learns"
    )
    parser.add_argument(
        "--init", type=Path, help="a run's best.pt to start from instead of MiniLM's weights"
    )
    parser.add_argument(
        "--layers", type=int, default=0, help="keep the first N of MiniLM's 6 layers (0: all)"
    )
    parser.add_argument(
        "--echoes",
        type=float,
        default=0.0,
        help="share of groups with the question restated as a negative (reader_data.echo)",
    )
    args = parser.parse_args(argv)
    first = args.examples[0]
    if not first.exists():
        print(f"building examples into {first}", flush=True)
        first.parent.mkdir(parents=True, exist_ok=True)
        questions = reader_data.load_jsonl(reader_data.TRAIN_QUESTIONS)
        reader_data.save(reader_data.build(questions), first)
    train(args)


if __name__ == "__main__":
    main()
