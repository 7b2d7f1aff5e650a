"""Training examples for the reader: RealTimeQA 2022-2024 questions against their articles' sentences.

Each question's candidate articles are cleaned and split into sentences as an ingest would
(`index.cleaning`, `index.sentences`). A sentence is a positive when it holds the quiz answer as
whole words and shares a word with the question, or when it is the quiz's own evidence sentence;
the other sentences of the same articles are negatives, the hardest first: those that share the
most (IDF-weighted) words with the question, which is what retrieval hands the reader. The last
weeks of 2024 are the development set. Labels (`answer`, `evidence`) and `candidate_urls` are read
here, at training time only.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.scoring import contains
from bench.stats import question_day
from index.cleaning import clean_text
from index.sentences import split_sentences

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench"
TRAIN_QUESTIONS = SHARED / "realtimeqa-2022-2024" / "questions.jsonl"
ARCHIVE = SHARED / "news-archive" / "articles-2022-2025.jsonl.gz"
DEV_FROM = "2024/10/01"  # questions from here on are the development set
MIN_WORDS = 6  # shorter lines are not answer sentences (the extractive answerer's own rule)
WORD = re.compile(r"[a-z0-9]+")
STOP = frozenset(
    "a an the of to in on for and or but is are was were be been by with at from as that this "
    "which who whom whose what when where why how did do does has have had it its their his her "
    "they he she we you i not no than then so if into about after before over new said says".split()
)


@dataclass
class Candidate:
    """A sentence of one of the question's articles, with what the reader sees beside it."""

    text: str
    title: str
    previous: str
    label: int
    overlap: float  # IDF-weighted share of the question's words it holds


@dataclass
class Example:
    """A question and its candidate sentences, best lexical match first."""

    id: str
    question: str
    date: str
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        """Whether some candidate holds the answer."""
        return any(c.label for c in self.candidates)


def words(text: str) -> list[str]:
    """Content words, lower-cased."""
    return [w for w in WORD.findall(text.lower()) if w not in STOP]


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file, gzip or plain."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def article_sentences(article: dict[str, Any]) -> list[tuple[str, str]]:
    """(sentence, previous sentence) of an article's cleaned text, answer-length ones only."""
    text = clean_text(article.get("text") or "").text
    found = [s.text for s in split_sentences(text)]
    return [
        (s, found[i - 1] if i else "") for i, s in enumerate(found) if len(s.split()) >= MIN_WORDS
    ]


def _evidence_match(sentence: str, evidence: str) -> bool:
    want = set(words(evidence))
    return len(want) >= 4 and len(want & set(words(sentence))) >= 0.8 * len(want)


def label_of(sentence: str, question: dict[str, Any], asked: set[str]) -> int:
    answer = question["answer"].strip("“”\"'‘’ ")
    if question.get("evidence") and _evidence_match(sentence, question["evidence"]):
        return 1
    return int(bool(answer) and contains(sentence, answer) and bool(asked & set(words(sentence))))


def build_example(question: dict[str, Any], articles: dict[str, dict[str, Any]]) -> Example:
    """The question's candidates from its articles, labelled, ordered by word overlap."""
    asked = set(words(question["question"]))
    found = [
        (sentence, previous, articles[url].get("title") or "")
        for url in question["candidate_urls"]
        if url in articles
        for sentence, previous in article_sentences(articles[url])
    ]
    df = Counter(w for s, _, _ in found for w in set(words(s)))
    idf = {w: math.log(1 + len(found) / (1 + df[w])) for w in asked}
    total = sum(idf.values()) or 1.0
    example = Example(question["id"], question["question"], question["question_date"])
    seen: set[str] = set()
    for sentence, previous, title in found:
        if sentence in seen:
            continue
        seen.add(sentence)
        overlap = sum(idf[w] for w in asked & set(words(sentence))) / total
        label = label_of(sentence, question, asked)
        example.candidates.append(Candidate(sentence, title, previous, label, overlap))
    example.candidates.sort(key=lambda c: -c.overlap)
    return example


def build(questions: Sequence[dict[str, Any]], archive: Path = ARCHIVE) -> list[Example]:
    """Examples for the questions, their articles read from the archive."""
    wanted = {u for q in questions for u in q["candidate_urls"]}
    articles = {a["url"]: a for a in archive_records(archive) if a.get("url") in wanted}
    return [build_example(q, articles) for q in questions]


def archive_records(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def day(question_date: str) -> str:
    """A question date as YYYY/MM/DD, whichever way it was written ('2024-10-04' too), so dates
    compare as strings."""
    found = question_day(question_date)
    return found.strftime("%Y/%m/%d") if found else question_date


def split(examples: Sequence[Example], dev_from: str = DEV_FROM) -> tuple[list, list]:
    """Training examples, and the development set (questions from `dev_from` on)."""
    train = [e for e in examples if day(e.date) < dev_from]
    return train, [e for e in examples if day(e.date) >= dev_from]


def groups(
    examples: Sequence[Example],
    size: int,
    seed: int,
    positives: int = 2,
    hard: int = 4,
    echoes: float = 0.0,
) -> list[tuple[str, list[Candidate]]]:
    """Listwise groups of a question: a positive first, then `hard` best lexical negatives and
    random others; with probability `echoes` the last of those is the question restated
    (`echo`)."""
    rng = random.Random(seed)
    out: list[tuple[str, list[Candidate]]] = []
    for e in examples:
        labelled = [c for c in e.candidates if c.label]
        pos = rng.sample(labelled, min(positives, len(labelled)))
        neg = [c for c in e.candidates if not c.label]
        if not pos or len(neg) < size - 1:
            continue
        for p in pos:
            rest = neg[hard:]
            others = rng.sample(rest, min(size - 1 - hard, len(rest)))
            if others and rng.random() < echoes:
                others[-1] = echo(e.question, p.title, rng)
            out.append((e.question, [p, *neg[:hard], *others]))
    rng.shuffle(out)
    return out


WH_LEAD = re.compile(
    r"^(?:which|what|who|whom|whose|where|when|why|how(?: many| much| long| old)?)"
    r"(?: of the following)?(?: \w+)?? (?:is|are|was|were|did|does|do|has|have|had|will|would|"
    r"could|can|should)\b\s*",
    re.IGNORECASE,
)
ECHOES = (
    "Officials were asked about {rest} on {day}.",
    "It was not immediately clear {whole}.",
    "Reporters pressed for details on {rest}, but no one would comment.",
    "The question of {rest} came up again on {day}.",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def echo(question: str, title: str, rng: random.Random) -> Candidate:
    """A sentence that repeats the question's words and answers nothing: the negative that
    teaches the reader that sharing the question's words is not stating its answer."""
    whole = question.strip().rstrip("?").strip()
    whole = whole[:1].lower() + whole[1:]
    rest = WH_LEAD.sub("", whole) or whole
    text = rng.choice(ECHOES).format(rest=rest, whole=whole, day=rng.choice(DAYS))
    return Candidate(text[:1].upper() + text[1:], title, "", 0, 1.0)


def save(examples: Sequence[Example], path: Path) -> None:
    """Examples as JSON lines."""
    with path.open("w", encoding="utf-8") as handle:
        for e in examples:
            handle.write(json.dumps(asdict(e), ensure_ascii=False) + "\n")


def load(path: Path) -> list[Example]:
    """Examples saved by `save`."""
    out = []
    for row in load_jsonl(path):
        cands = [Candidate(**c) for c in row.pop("candidates")]
        out.append(Example(**row, candidates=cands))
    return out
