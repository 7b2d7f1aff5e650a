"""Does the support check pass what a passage says and fail what it does not?

    python bench/support_probes.py [--articles FILE] [--sample 200] [--seed 0] [--show 3]

Sentences come from the default corpus and a sample of RealTimeQA 2025 articles; each is checked
against its passage (the sentence with up to three sentences either side, as a chunk holds it).
True sentences must pass: the sentence itself, and light paraphrases (a reporting verb, a
contraction, a synonym, a dropped attribution or opening phrase). Perturbed ones must fail:
negated (or with the negation dropped), a word turned into its opposite, a number, a month or
weekday, or a name changed, and two names swapped. Each is scored by Newsdesk's support check
(`rag.support.SupportChecker`, the bundled MiniLM) and, as the ablation, by its lexical and
semantic score alone (without `rag.contradiction`). Prints pass rates by kind.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.stats import bootstrap
from index.cleaning import clean_text
from index.sentences import split_sentences
from newsdesk.factory import build_embedder
from newsdesk.settings import Settings
from rag.contradiction import names
from rag.support import SupportChecker

SHARED = Path(__file__).resolve().parents[2] / "shared"
ARTICLES = SHARED / "bench" / "realtimeqa-2025" / "articles.jsonl"
CORPUS = SHARED / "corpus"
MONTHS = "January February March April May June July August September October November December"
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
AUXILIARY = re.compile(r"\b(is|are|was|were|will|would|can|could|has|have|had|should|must)\b")
NEGATED = re.compile(r"\b(not|never) |n't\b")
OPPOSITE = {
    "supports": "opposes", "supported": "opposed", "support": "oppose", "increased": "decreased",
    "increase": "decrease", "rose": "fell", "rise": "fall", "won": "lost", "win": "lose",
    "wins": "loses", "higher": "lower", "accepted": "rejected", "approved": "rejected",
    "allowed": "banned", "allow": "ban", "guilty": "innocent", "largest": "smallest",
    "biggest": "smallest", "agreed": "refused", "arrested": "released", "victory": "defeat",
    "opposed": "supported", "rejected": "accepted", "decreased": "increased", "fell": "rose",
    "lost": "won", "lower": "higher", "banned": "allowed", "refused": "agreed",
}  # fmt: skip
PARAPHRASES = [
    (r"\bsaid\b", "stated"), (r"\bsays\b", "states"), (r"\btold\b", "informed"),
    (r"\bdid not\b", "didn't"), (r"\bdoes not\b", "doesn't"), (r"\bis not\b", "isn't"),
    (r"\bwill not\b", "won't"), (r"\bcannot\b", "can't"), (r"\bmore than\b", "over"),
    (r"\bbecause\b", "as"), (r"\bbegan\b", "started"), (r"\balso ", ""), (r"\bpeople\b", "individuals"),
    (r"\bhowever\b", "but"), (r"\bapproximately\b", "about"), (r"\bpercent\b", "per cent"),
    (r", (?:[A-Z][a-z]+ )*[A-Z][a-z]+ said\.$", "."), (r"^(?:On|In|On the) [A-Z]?[a-z]+, ", ""),
]  # fmt: skip
Perturb = Callable[[str, random.Random, list[str]], str | None]


def negate(s: str, rng: random.Random, others: list[str]) -> str | None:
    """A negation dropped, or one added after the first auxiliary verb."""
    if NEGATED.search(s):
        s = re.sub(r"\bwon't\b", "will not", re.sub(r"\bcan't\b", "can not", s))
        return NEGATED.sub("", s, count=1)
    m = AUXILIARY.search(s)
    return f"{s[: m.end()]} not{s[m.end() :]}" if m else None


def opposite(s: str, rng: random.Random, others: list[str]) -> str | None:
    words = [w for w in re.findall(r"[a-z]+", s) if w in OPPOSITE]
    if not words:
        return None
    w = rng.choice(words)
    return re.sub(rf"\b{w}\b", OPPOSITE[w], s, count=1)


def number(s: str, rng: random.Random, others: list[str]) -> str | None:
    found = list(re.finditer(r"(?<![\d,.])\d+(?![\d,])", s))
    if not found:
        return None
    m = rng.choice(found)
    n = int(m.group(0))
    return f"{s[: m.start()]}{n + rng.randint(1, 9)}{s[m.end() :]}"


def date(s: str, rng: random.Random, others: list[str]) -> str | None:
    for pool in (MONTHS.split(), DAYS.split()):
        found = [w for w in pool if re.search(rf"\b{w}\b", s)]
        if found:
            w = rng.choice(found)
            return re.sub(rf"\b{w}\b", rng.choice([x for x in pool if x != w]), s, count=1)
    return None


def name(s: str, rng: random.Random, others: list[str]) -> str | None:
    found = [n for n in names(s) if len(n) > 3]
    if not found or not others:
        return None
    return re.sub(rf"\b{re.escape(rng.choice(found))}\b", rng.choice(others), s, count=1)


def roles(s: str, rng: random.Random, others: list[str]) -> str | None:
    found = list(dict.fromkeys(n for n in names(s) if len(n) > 3))
    if len(found) < 2:
        return None
    a, b = rng.sample(found, 2)
    swapped = re.sub(
        rf"\b({re.escape(a)}|{re.escape(b)})\b", lambda m: b if m.group(0) == a else a, s
    )
    return swapped if swapped != s else None


PERTURBATIONS: dict[str, Perturb] = {
    "negation": negate, "opposite": opposite, "number": number, "date": date, "name": name,
    "roles": roles,
}  # fmt: skip


def paraphrase(s: str, rng: random.Random) -> str | None:
    """One or two light rewrites that keep the meaning, or None when none applies."""
    rules = [(p, r) for p, r in PARAPHRASES if re.search(p, s)]
    if not rules:
        return None
    out = s
    for pattern, repl in rng.sample(rules, min(2, len(rules))):
        out = re.sub(pattern, repl, out, count=1)
    return out if out != s else None


def articles(path: Path, sample: int, rng: random.Random) -> list[tuple[str, str]]:
    """(title, cleaned text) of the default corpus and `sample` RealTimeQA articles."""
    out = [("", clean_text(p.read_text()).text) for p in sorted(CORPUS.glob("*.txt"))]
    rows = [json.loads(line) for line in path.open() if line.strip()]
    for row in rng.sample(rows, min(sample, len(rows))):
        out.append((row.get("title") or "", clean_text(row.get("text") or "").text))
    return out


def cases(docs: list[tuple[str, str]], rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, sentence, passage): true ones and perturbed ones."""
    pool = list(dict.fromkeys(n for _, text in docs for n in names(text) if len(n) > 4))
    out = []
    for _, text in docs:
        sentences = [s.text for s in split_sentences(text)]
        picks = [i for i, s in enumerate(sentences) if len(s.split()) >= 8 and s[-1] in '.!?"”']
        for i in rng.sample(picks, min(4, len(picks))):
            s = sentences[i]
            passage = " ".join(sentences[max(0, i - 3) : i + 4])
            others = [n for n in rng.sample(pool, min(30, len(pool))) if n not in passage]
            out.append(("true: verbatim", s, passage))
            if (p := paraphrase(s, rng)) is not None:
                out.append(("true: paraphrase", p, passage))
            for kind, perturb in PERTURBATIONS.items():
                if (bad := perturb(s, rng, others)) is not None and bad != s:
                    out.append((f"perturbed: {kind}", bad, passage))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=Path, default=ARTICLES)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=3, help="examples of each kind's mistakes")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    embedder = build_embedder(Settings())  # the default: the bundled MiniLM
    checker = SupportChecker(embedder.embed_query)
    results: dict[str, list[tuple[bool, bool, str]]] = defaultdict(list)
    for kind, sentence, passage in cases(articles(args.articles, args.sample, rng), rng):
        full = checker.score(sentence, passage) >= checker.threshold
        lexical = checker.lexical(sentence, passage)
        alone = 0.5 * lexical + 0.5 * checker.semantic(sentence, passage) >= checker.threshold
        results[kind].append((full, alone, sentence))
    report(results, args.show)


def report(results: dict[str, list[tuple[bool, bool, str]]], show: int) -> None:
    print(
        "| kind | sentences | pass, with the contradiction check [95% CI] | pass, overlap and similarity alone |"
    )
    print("| --- | --- | --- | --- |")
    for group in ("true", "perturbed"):
        rows = [r for k, rs in results.items() if k.startswith(group) for r in rs]
        for kind in sorted(k for k in results if k.startswith(group)):
            _line(kind, results[kind])
        _line(f"**all {group}**", rows)
    for kind, rows in sorted(results.items()):
        wrong = [s for full, _, s in rows if full != kind.startswith("true")]
        for s in wrong[:show]:
            print(f"  wrong, {kind}: {s}")


def _line(kind: str, rows: list[tuple[bool, bool, str]]) -> None:
    n = len(rows)
    full = bootstrap([float(r[0]) for r in rows]) if n else "n/a"
    alone = sum(r[1] for r in rows) / n if n else 0.0
    print(f"| {kind} | {n} | {full} | {alone:.3f} |")


if __name__ == "__main__":
    main()
