"""Out-of-fold probes of the answer sentence model: which features and fits would help?

    python bench/answer_probes.py --articles A --questions Q [--as-of] [--sentence-vectors]

The RealTimeQA bench takes over an hour on 2 cores; once it has built its index (same
`--data-dir`, same articles), this script reuses it, collects every question's candidate
sentences once (about a minute) and scores candidate changes to the sentence model in seconds,
each out of fold with folds grouped by question week, as the bench scores the shipped one:
the share of answerable questions whose answer sentences (up to `answer_sentences`) state the
answer, with a bootstrap 95% interval and a paired interval against the shipped features.
The extra features here are candidates under study, not the product's: one that helps out of
fold moves into `rag/sentence_model.py` and is confirmed by the whole bench. Other fits are scored on
the shipped features (listwise, shallow boosted trees, each question weighted as one), and so is
the runner-up rule's threshold. With `--as-of`, questions are asked as of their own day, where
the as-of week's feature (`in_week`) can play a part.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fit import fit_logistic
from bench.realtimeqa import COVERAGE, index_folder, ingest_sample, load_jsonl, sample
from bench.scoring import contains
from bench.stats import bootstrap, grouped_folds, paired_difference, question_week
from bench.training import Example, collect
from bench.wiring import realtimeqa_indexing
from newsdesk.factory import build_embedder
from newsdesk.settings import Settings
from rag.citations import content_words
from rag.sentence_model import (
    NAME,
    NUMBER,
    RUNNER_UP,
    SENTENCE_FEATURES,
    Candidate,
    answerable,
    choose_ranked,
)

Scorer = Callable[[Sequence[Candidate]], np.ndarray]  # one question's candidates -> (0, 1)
Fitter = Callable[[Sequence[Example], Sequence[str]], Scorer]
LATEST = ("in_week",)  # shipped features most recently added, each probed by leaving it out
EXTRA = ("redundancy", "neighbour_coverage", "novelty", "coverage_vs_passage_best", "quote")
SHAPE = ("leading_name", "name_near_question", "question_bigrams", "head_noun_near_name")
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*")
CAPITAL = re.compile(r"^[A-Z][a-zA-Z’'-]+$")
HEAD = re.compile(r"\b(?:which|what)\s+([a-z][a-z-]+)", re.I)  # "which comedian", "what metals"


def add_extra_features(example: Example) -> None:
    """Candidate features under study, added to every candidate's `features`."""
    asked = set(re.findall(r"[a-z0-9]+", example.question["question"].lower()))
    asked_words = content_words(example.question["question"])
    texts = {c.passage.doc_id: c.passage.text.lower() for c in example.found}
    best_in: dict[str, float] = {}
    for c in example.found:
        best_in[c.passage.chunk_id] = max(best_in.get(c.passage.chunk_id, 0.0), c.coverage)
    for i, c in enumerate(example.found):
        others = [t for doc, t in texts.items() if doc != c.passage.doc_id]
        # AskMSR-style redundancy: how many other articles repeat what this sentence adds.
        repeated = max((sum(e in t for t in others) for e in _novel(c.text, asked)), default=0)
        words = content_words(c.text)
        c.features.update(
            redundancy=min(repeated, 5) / 5,
            neighbour_coverage=max((n.coverage for n in _neighbours(example.found, i)), default=0),
            novelty=len(words - asked_words) / max(len(words), 1),
            coverage_vs_passage_best=c.coverage / (best_in[c.passage.chunk_id] or 1.0),
            quote=float(c.text.lstrip()[:1] in "\"“'‘"),
        )


def add_shape_features(example: Example) -> None:
    """Where the sentence's new names sit: first, near the question's words, or next to the
    noun the question asks for ("which comedian" … "comedian Nikki Glaser"); and how many of
    the question's word pairs it repeats."""
    question = example.question["question"]
    asked = set(re.findall(r"[a-z0-9]+", question.lower()))
    ordered = [w for w in re.findall(r"[a-z0-9]+", question.lower()) if content_words(w)]
    pairs = set(pairwise(ordered))
    head = HEAD.search(question)
    nouns = content_words(head.group(1)) if head else set()
    for c in example.found:
        words = WORD.findall(c.text)
        lower = [w.lower().strip(".") for w in words]
        names = [i for i in _name_runs(words) if not {lower[j] for j in i} <= asked]
        where = [i for i, w in enumerate(lower) if w in asked and content_words(w)]
        named = [j for run in names for j in run]
        heads = [i for i, w in enumerate(lower) if content_words(w) & nouns]
        kept = [w for w in lower if content_words(w)]
        c.features.update(
            leading_name=float(bool(named) and named[0] == 0),
            name_near_question=1.0 / (1 + _gap(named, where)),
            question_bigrams=len(pairs & set(pairwise(kept))) / max(len(pairs), 1),
            head_noun_near_name=1.0 / (1 + _gap(named, heads)),
        )


def _name_runs(words: Sequence[str]) -> list[list[int]]:
    """Runs of capitalised words that are not stop words, the sentence's first included."""
    runs: list[list[int]] = [[]]
    for i, word in enumerate(words):
        if CAPITAL.match(word) and content_words(word):
            runs[-1].append(i)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _gap(a: Sequence[int], b: Sequence[int]) -> int:
    """The fewest words between a position in `a` and one in `b` (99 if either is empty)."""
    return min((abs(i - j) for i in a for j in b), default=99)


def _novel(text: str, asked: set[str]) -> set[str]:
    names = {n.lower() for n in NAME.findall(text) if not set(n.lower().split()) <= asked}
    return names | {n for n in NUMBER.findall(text) if n not in asked and len(n) > 1}


def _neighbours(found: Sequence[Candidate], i: int) -> list[Candidate]:
    near = [found[j] for j in (i - 1, i + 1) if 0 <= j < len(found)]
    return [n for n in near if n.passage is found[i].passage]


def add_sentence_similarity(examples: Sequence[Example], settings: Settings) -> None:
    """Each candidate's cosine to its question by the index's own embedder (slow: every sentence)."""
    embedder = build_embedder(settings)
    texts = sorted({c.text for e in examples for c in e.found})
    vectors = dict(zip(texts, np.asarray(embedder.embed_documents(texts)), strict=True))
    for e in examples:
        question = np.asarray(embedder.embed_query(e.question["question"]))
        for c in e.found:
            c.features["sentence_dense"] = float(vectors[c.text] @ question)


def _matrix(found: Sequence[Candidate], names: Sequence[str]) -> np.ndarray:
    return np.array([[c.features[n] for n in names] for c in found], dtype=np.float64)


def pointwise(train: Sequence[Example], names: Sequence[str], per_question: bool = False) -> Scorer:
    """The shipped fit: a logistic regression over every sentence of every question. With
    `per_question`, each question's sentences weigh as one question in all (the total weight
    stays the number of sentences), so questions with many do not dominate."""
    rows = [c.features for e in train for c in e.found]
    share = len(rows) / max(1, len(train))
    weights = [share / len(e.found) for e in train for _ in e.found] if per_question else None
    labels = [y for e in train for y in e.labels]
    model = fit_logistic(rows, labels, names, weights=weights)
    return lambda found: model.probabilities([c.features for c in found])


def boosted(train: Sequence[Example], names: Sequence[str]) -> Scorer:
    """Shallow gradient-boosted trees (scikit-learn): can they use interactions the logistic
    regression cannot?"""
    x = _matrix([c for e in train for c in e.found], names)
    y = np.array([label for e in train for label in e.labels])
    if len(set(y.tolist())) < 2:
        return lambda found: np.zeros(len(found))
    model = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_depth=3, min_samples_leaf=100, random_state=0
    ).fit(x, y)
    return lambda found: model.predict_proba(_matrix(found, names))[:, 1]


def listwise(train: Sequence[Example], names: Sequence[str], l2: float = 1.0) -> Scorer:
    """A conditional logit: softmax over each question's sentences, fitted by Newton's method."""
    groups = [(_matrix(e.found, names), np.array(e.labels, float)) for e in train if any(e.labels)]
    stacked = np.vstack([x for x, _ in groups])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    scale[scale < 1e-9] = 1.0
    groups = [((x - mean) / scale, y / y.sum()) for x, y in groups]
    w = np.zeros(len(names))
    for _ in range(30):
        gradient, hessian = l2 * w, l2 * np.eye(len(names))
        for x, y in groups:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            gradient += x.T @ (p - y)
            hessian += x.T @ (x * p[:, None]) - np.outer(x.T @ p, x.T @ p)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break

    def score(found: Sequence[Candidate]) -> np.ndarray:
        # Relative to the question's best, which gets 0.5: a softmax has no absolute level.
        z = ((_matrix(found, names) - mean) / scale) @ w
        return 1.0 / (1.0 + np.exp(z.max() - z))

    return score


def out_of_fold(
    examples: Sequence[Example],
    fitter: Fitter,
    names: Sequence[str],
    k: int,
    limit: int,
    runner_up: float = RUNNER_UP,
) -> dict[str, list[int]]:
    """Per answerable question: answer sentences state the answer, and so does the lead."""
    weeks = [question_week(e.question["question_date"]) for e in examples]
    cited, lead = {}, {}
    for fold in grouped_folds(weeks, k):
        held = set(fold)
        score = fitter([e for i, e in enumerate(examples) if i not in held and e.answerable], names)
        for i in (i for i in fold if examples[i].answerable):
            ranked = _ranked(examples[i], score)
            answer = examples[i].question["answer"]
            cited[i] = int(
                any(contains(c.text, answer) for c in choose_ranked(ranked, limit, runner_up))
            )
            lead[i] = int(bool(ranked) and contains(ranked[0].text, answer))
    return {"cited": [cited[i] for i in sorted(cited)], "lead": [lead[i] for i in sorted(lead)]}


def _ranked(example: Example, score: Scorer) -> list[Candidate]:
    """Candidates best first, or none where the engine would abstain."""
    if not example.found or not answerable(example.found):
        return []
    for c, value in zip(example.found, score(example.found), strict=True):
        c.score = float(value)
    return sorted(example.found, key=lambda c: -c.score)


class Probe(NamedTuple):
    """One change to score: a fit, its features, and the runner-up rule's threshold."""

    name: str
    fitter: Fitter
    names: list[str]
    runner_up: float = RUNNER_UP


def probes(sentence_vectors: bool) -> list[Probe]:
    """The probes run: the shipped fit and features first, then one change each."""
    shipped = list(SENTENCE_FEATURES)
    runs = [Probe("shipped", pointwise, shipped)]
    runs += [Probe(f"- {name}", pointwise, [f for f in shipped if f != name]) for name in LATEST]
    runs += [Probe(f"+ {name}", pointwise, [*shipped, name]) for name in (*EXTRA, *SHAPE)]
    runs += [Probe("+ all of these", pointwise, [*shipped, *EXTRA, *SHAPE])]
    runs += [Probe("listwise fit", listwise, shipped)]
    runs += [Probe("listwise + all", listwise, [*shipped, *EXTRA, *SHAPE])]
    runs += [
        Probe("boosted trees", boosted, shipped),
        Probe("per-question weights", partial(pointwise, per_question=True), shipped),
    ]
    runs += [Probe(f"runner-up at {t}", pointwise, shipped, t) for t in (0.25, 0.75)]
    if sentence_vectors:
        runs += [Probe("+ sentence_dense", pointwise, [*shipped, "sentence_dense"])]
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=0, help="questions (0: all)")
    parser.add_argument("--articles-total", type=int, default=0, help="articles (0: all)")
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--as-of", action="store_true", help="ask as of each question's day")
    parser.add_argument("--sentence-vectors", action="store_true", help="embed every sentence")
    args = parser.parse_args()
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    questions, articles = sample(
        load_jsonl(args.questions), load_jsonl(args.articles), args.sample, args.articles_total, 0
    )
    indexing = realtimeqa_indexing(settings)
    workdir = index_folder(indexing, articles)
    ingest_sample(indexing, workdir, articles, lambda m: print(m, file=sys.stderr))
    engine = indexing.make_engine(workdir, 10, COVERAGE, None)
    examples = collect(engine, questions, as_of=args.as_of)
    for example in examples:
        add_extra_features(example)
        add_shape_features(example)
    if args.sentence_vectors:
        add_sentence_similarity(examples, settings)
    report(examples, args.cv, engine.settings.answer_sentences, args.sentence_vectors)


def report(examples: Sequence[Example], k: int, limit: int, sentence_vectors: bool) -> None:
    """Print each probe's out-of-fold figures, then all of them as one JSON object."""
    answerable_ones = [e for e in examples if e.answerable]
    ceiling = np.mean([any(e.labels) for e in answerable_ones]) if answerable_ones else 0.0
    print(f"{len(examples)} questions, {len(answerable_ones)} answerable; {os.cpu_count()} cores")
    print(f"some candidate sentence states the answer: {ceiling:.3f}")
    figures: dict[str, dict[str, object]] = {}
    shipped: list[int] = []
    for name, fitter, names, runner_up in probes(sentence_vectors):
        found = out_of_fold(examples, fitter, names, k, limit, runner_up)
        shipped = shipped or found["cited"]
        cited, versus = bootstrap(found["cited"]), paired_difference(found["cited"], shipped)
        lead = float(np.mean(found["lead"])) if found["lead"] else 0.0
        print(f"{name:28s} cited {cited}  vs shipped {versus}  lead {lead:.3f}")
        figures[name] = {"cited": cited.as_dict(), "vs_shipped": versus.as_dict(), "lead": lead}
    print(json.dumps({"ceiling": ceiling, "probes": figures}))


if __name__ == "__main__":
    main()
