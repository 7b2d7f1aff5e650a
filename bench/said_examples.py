"""Reader examples shaped like a user's "What did X say about Y?", built from archive articles.

    python -m bench.said_examples --out FILE [--limit 600] [--seed 0]

The quizzes the reader learns from ask for a fact the question does not hold; a user of a news
desk also asks what someone said about something, and the answer then is the statement that
restates the topic, often a quote closed by "he said" whose speaker the sentence before names.
For a sentence attributed to a speaker (named beside a speech verb, or "he said" after a sentence
naming them), the question names the speaker's surname and a run of the sentence's own content
words as its topic. The positive is that sentence; the negatives are the article's other
sentences, the speaker's other statements first, so what the reader learns is that the topic
must be the one asked about, not just the speaker. Only articles dated before the development
weeks (`bench.reader_data.DEV_FROM`) and from 2022 on are read by default, so the 2025 split
and the development weeks stay unseen; `--since 2024/10/01 --until 2025/01/01` makes the
development examples, to choose a reader by. Saved in `bench.reader_data`'s format for
`python -m bench.train_reader --examples`.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import reader_data
from bench.reader_data import STOP, Candidate, Example
from bench.train_reader import GROUP

_NAME = r"([A-Z][A-Za-z'’-]+(?: [A-Z][A-Za-z'’-]+){0,2})"
_VERB = r"(?:said|says|told|added|warned|argued|noted|insisted)"
# "Peskov said ..." names the speaker before the verb; after it only in a closing attribution
# (', said Peskov.'), since "officials said Trump had agreed" names the subject, not the speaker.
NAMED = re.compile(rf"\b{_NAME} {_VERB}\b|[,”\"] (?:said|says) {_NAME}(?=[.,])")
QUOTED = re.compile(r"[“\"]([^”\"]{20,})[”\"]")
CARRIED = re.compile(rf"\b(?:he|she) {_VERB}\b", re.I)
NOT_NAMES = frozenset(
    "The It He She They We This That There But And So Yet Still However Also Meanwhile In On At "
    "A An Officials Police Reuters AP "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May "
    "June July August September October November December Sen Rep Gov Mr Mrs Ms Dr".split()
)
TOPIC_STOP = STOP | frozenset(
    "told added warned argued noted insisted would could should will also very just more most "
    "some any all one two three there here them those these been being our your my".split()
)
TEMPLATES = (
    "What did {who} say about {topic}?",
    "What did {who} say about the {topic}?",
    "What has {who} said about {topic}?",
)
SINCE = "2022/01/01"


def speakers(sentences: list[tuple[str, str]]) -> list[str]:
    """Each sentence's speaker ('' for none): named beside a speech verb, or carried from the
    sentence just before by "he said" (then by surname, as a reporter would)."""
    out, last = [], ""
    for text, _ in sentences:
        names = [_name(n) for pair in NAMED.findall(text) for n in pair if _name(n)]
        if names:
            last = names[0]
        elif not (last and CARRIED.search(text)):
            last = ""
        out.append(last if names else last.split()[-1] if last else "")
    return out


def _name(found: str) -> str:
    """A matched name without the sentence's opening words ("But Peskov": "Peskov") or a title
    before it ("Prime Minister Keir Starmer": "Keir Starmer")."""
    words = found.split()
    while words and words[0] in NOT_NAMES:
        words.pop(0)
    return " ".join(words[-2:])


def statement(text: str) -> str:
    """What a sentence says, without its attribution: the quote if it has one, else the words
    after "X said" or before "said X"."""
    quoted = QUOTED.findall(text)
    if quoted:
        return " ".join(quoted)
    match = NAMED.search(text) or CARRIED.search(text)
    if match is None:
        return text
    after, before = text[match.end() :], text[: match.start()]
    return after if len(after) > len(before) else before


def topic(text: str, who: str) -> str:
    """The longest run of two to four content words of what the sentence says (none of the
    speaker's name), or ''."""
    tokens = re.findall(r"[A-Za-z][A-Za-z'-]*|\S", statement(text))
    name = set(who.split())
    runs: list[list[str]] = [[]]
    for token in tokens:
        word = token.lower()
        if word.isalpha() and len(word) > 2 and word not in TOPIC_STOP and token not in name:
            runs[-1].append(token)
        elif runs[-1]:
            runs.append([])
    best = max(runs, key=len)[:4]
    return " ".join(best) if len(best) >= 2 else ""


def article_examples(article: dict[str, Any], rng: random.Random) -> list[Example]:
    """At most one example per speaker of the article."""
    sentences = reader_data.article_sentences(article)
    said = speakers(sentences)
    title, day = article.get("title") or "", reader_data.day(article.get("publish_date") or "")
    out, done = [], set()
    for i, ((text, previous), who) in enumerate(zip(sentences, said, strict=True)):
        about = topic(text, who) if who and len(text.split()) >= 12 else ""
        if not about or who in done:
            continue
        question = rng.choice(TEMPLATES).format(who=who, topic=about)
        negatives = _negatives(sentences, said, i, who, about, title)
        if len(negatives) >= GROUP - 1:
            done.add(who)
            positive = Candidate(text, title, previous, 1, _overlap(question, text))
            ident = f"said:{article.get('url')}#{i}"
            out.append(Example(ident, question, day, [positive, *negatives]))
    return out


def _negatives(
    sentences: list[tuple[str, str]], said: list[str], i: int, who: str, about: str, title: str
) -> list[Candidate]:
    """The article's other sentences that do not hold the topic: the speaker's first."""
    wanted, surname = set(reader_data.words(about)), who.split()[-1]
    out = []
    for j, ((text, previous), speaker) in enumerate(zip(sentences, said, strict=True)):
        if j == i or len(wanted & set(reader_data.words(text))) * 2 >= len(wanted):
            continue
        hard = speaker.split()[-1:] == [surname] or surname in text
        out.append((hard, Candidate(text, title, previous, 0, _overlap(about, text))))
    out.sort(key=lambda pair: (not pair[0], -pair[1].overlap))
    return [c for _, c in out]


def _overlap(question: str, text: str) -> float:
    asked = set(reader_data.words(question))
    return len(asked & set(reader_data.words(text))) / (len(asked) or 1)


def build(
    articles: Iterable[dict[str, Any]],
    limit: int,
    seed: int,
    since: str = SINCE,
    until: str = reader_data.DEV_FROM,
) -> list[Example]:
    """Up to `limit` examples from articles dated from `since` to before `until` (by default
    the training years'), in a seeded order."""
    rng = random.Random(seed)
    kept = [a for a in articles if since <= reader_data.day(a.get("publish_date") or "") < until]
    rng.shuffle(kept)
    out: list[Example] = []
    for article in kept:
        out += article_examples(article, rng)[:1]
        if len(out) >= limit:
            break
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--archive", type=Path, default=reader_data.ARCHIVE)
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--since", default=SINCE, help="articles dated from (YYYY/MM/DD)")
    parser.add_argument(
        "--until",
        default=reader_data.DEV_FROM,
        help="articles dated before; from DEV_FROM on they are development examples",
    )
    args = parser.parse_args(argv)
    since, until = (reader_data.day(d) for d in (args.since, args.until))
    if not all(re.fullmatch(r"\d{4}/\d{2}/\d{2}", d) for d in (since, until)):
        parser.error(f"--since {args.since} / --until {args.until}: give days as YYYY/MM/DD")
    records = reader_data.archive_records(args.archive)
    examples = build(records, args.limit, args.seed, since, until)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reader_data.save(examples, args.out)
    print(f"{len(examples)} examples -> {args.out}")


if __name__ == "__main__":
    main()
