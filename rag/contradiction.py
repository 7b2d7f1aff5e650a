"""Whether a sentence says something its passage contradicts or never says.

Word overlap and sentence similarity score "Russia supports the plan" almost as high against "Russia
opposes the plan" as against itself, so the support check (`rag.citations.SupportChecker`) asks
these questions first; any "yes" means the passage cannot support the sentence:

- a number, a month, a weekday or a name in the sentence that the passage does not hold;
- a negation the passage sentence closest to it lacks, or one it drops from a sentence it
  otherwise repeats;
- a word whose opposite the closest passage sentence says instead (supports / opposes);
- two names in the opposite order to the passage's (who did what to whom).

The rules are deliberately strict: a paraphrase that renames a person or turns "did not" into
"failed to" loses its citation, which the answer shows as unsupported rather than as verified.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from index.sentences import split_sentences
from rag.citations import _STOP, content_words

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.&-]*")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_SPELLED = {
    w: str(n)
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
    if n >= 2
}
_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_WEEKDAYS = "mon tue wed thu fri sat sun".split()
_NEGATIONS = frozenset(
    """not no never none nobody nothing neither nor without cannot refuse refused refuses
    refusing fail failed fails denied denies""".split()
)
# Other names of one place or people: a sentence may say "American" where the passage says "US".
_ALIASES = {
    "american": "us",
    "america": "us",
    "unitedstates": "us",
    "usa": "us",
    "british": "uk",
    "britain": "uk",
    "unitedkingdom": "uk",
    "russian": "russia",
    "ukrainian": "ukraine",
}
_NOT_NAMES = frozenset(
    """i a the this that these those it he she we they his her their our its mr mrs ms dr
    but and or if in on at for of to as by with from after before while when where why how
    what who which there here then so not no yes also however meanwhile everyone everybody
    someone somebody anyone anybody each every all both many most some several few other
    others another such""".split()
)
# Opposites, as `_stem` leaves them: either word of a pair in the sentence, the other in the passage.
_OPPOSITES = [
    ("increase", "decrease"),
    ("rise", "fall"),
    ("rose", "fell"),
    ("higher", "lower"),
    ("won", "lost"),
    ("win", "lose"),
    ("victory", "defeat"),
    ("support", "oppose"),
    ("welcome", "oppose"),
    ("welcome", "reject"),
    ("accept", "reject"),
    ("approve", "reject"),
    ("agree", "refuse"),
    ("allow", "prohibit"),
    ("allow", "forbid"),
    ("guilty", "innocent"),
    ("convicted", "acquitted"),
    ("strengthen", "weaken"),
    ("largest", "smallest"),
    ("biggest", "smallest"),
    ("success", "failure"),
    ("succeed", "fail"),
]


def _stem(word: str) -> str:
    for ending in ("ing", "ed", "es", "s", "e"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE.setdefault(_stem(_a), set()).add(_stem(_b))
    _OPPOSITE.setdefault(_stem(_b), set()).add(_stem(_a))


def conflict(sentence: str, passage: str, about: str = "") -> str | None:
    """Why `passage` cannot support `sentence` ("number 12", "negation", …), or None.

    `about` is what the reader of the passage is also told (its outlet, date and title): a
    sentence may take a number, a date or a name from there.
    """
    told = f"{passage} {about}"
    # A count in words ("the two sides") may be the passage's in digits, or unstated: only
    # digits must be found.
    return (
        _missing("number", numbers(sentence, spelled=False), numbers(told))
        or _missing("date", calendar_words(sentence), calendar_words(told))
        or _missing_names(names(sentence, told), told)
        or _against_closest(sentence, _closest(sentence, passage))
    )


def numbers(text: str, spelled: bool = True) -> set[str]:
    """Numbers written in digits (commas dropped) and, if `spelled`, as words from two to
    twelve."""
    found = {_plain_number(m.group(0).replace(",", "").rstrip(".")) for m in _NUMBER.finditer(text)}
    if spelled:
        found |= {_SPELLED[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _SPELLED}
    return found


def _plain_number(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


def calendar_words(text: str) -> set[str]:
    """Months (capitalised, so "may" the verb is not one) and weekdays, as three letters."""
    out = set()
    for token in _TOKEN.findall(text):
        head, word = token[:3].lower(), token.lower().rstrip(".")
        if not token[0].isupper():
            continue  # "may", "sat", "sun" and "wed" are words too
        if (head in _MONTHS and word in _MONTH_FORMS) or (
            head in _WEEKDAYS and re.sub(r"['’]s$", "", word).endswith(("day", head))
        ):
            out.add(head)
    return out


_MONTH_FORMS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)


def names(text: str, common: str = "") -> list[str]:
    """Capitalised words, in order, without a possessive. A sentence's first word counts only
    when `common` (the text it is checked against) never writes it in lower case."""
    lower = set(re.findall(r"[a-z]+", common))
    out = []
    for sentence in split_sentences(text) or []:
        tokens = _TOKEN.findall(sentence.text)
        for i, token in enumerate(tokens):
            bare = re.sub(r"['’]s$", "", token).rstrip(".'’-")
            if not bare[:1].isupper() or bare.isdigit() or _not_a_name(bare.lower()):
                continue
            if not i and bare.lower() in _STOP:
                continue  # "An analyst", "Everyone agrees": capitalised only as first words
            if i or (common and bare.lower() not in lower):
                out.append(bare)
    return out


def _not_a_name(word: str) -> bool:
    """Function words and calendar words (which `calendar_words` checks) are not names."""
    return (
        word in _NOT_NAMES
        or word in _MONTH_FORMS
        or (word[:3] in _WEEKDAYS and word.endswith("day"))
    )


def _key(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def _prefix(word: str) -> str:
    """Enough of a name to match its other forms (Russia, Russian; Ukraine, Ukrainian)."""
    key = _key(word)
    return key[: max(4, len(key) - 3)]


def _missing(kind: str, wanted: set[str], present: set[str]) -> str | None:
    absent = sorted(wanted - present)
    return f"{kind} {absent[0]}" if absent else None


def _missing_names(wanted: Iterable[str], passage: str) -> str | None:
    keys = {_alias(p) for t in _TOKEN.findall(passage) for p in _parts(t)}
    prefixes = {k[:n] for k in keys for n in range(4, len(k) + 1)}
    for name in wanted:
        for part in name.split("-"):  # "Russia-Ukraine" is said as well by "Russia … Ukraine"
            key = _alias(part)
            if key and key not in keys and _prefix(key) not in prefixes:
                return f"name {name}"
    return None


def _parts(token: str) -> list[str]:
    """A token and, when hyphenated ("Russia-Ukraine"), each of its parts."""
    return [token, *token.split("-")] if "-" in token else [token]


def _alias(word: str) -> str:
    key = _key(word)
    return _ALIASES.get(key, key)


def _closest(sentence: str, passage: str) -> str:
    """The passage sentence sharing the most content words with `sentence`."""
    words = content_words(sentence)
    found = [s.text for s in split_sentences(passage)] or [passage]
    return max(found, key=lambda s: len(words & content_words(s)))


def _against_closest(sentence: str, closest: str) -> str | None:
    return _negation(sentence, closest) or _opposite(sentence, closest) or _roles(sentence, closest)


def _negations(text: str) -> int:
    words = re.findall(r"[a-z']+|n['’]t\b", text.lower().replace("’", "'"))
    return sum(w in _NEGATIONS or w.endswith("n't") for w in words)


def _negation(sentence: str, closest: str) -> str | None:
    said, source = _negations(sentence), _negations(closest)
    if said > source:
        return "negation"
    # The same count, moved: "is not opposed … will allow" against "is opposed … will not allow".
    if said and (_negated(sentence) - _negated(closest)) & content_words(closest):
        return "negation"
    # A negation dropped from what it negates ("will not allow" -> "will allow") flips the
    # sentence; a paraphrase of another clause of the passage sentence may leave it out.
    if source > said and _negated(closest) & content_words(sentence):
        return "negation"
    return None


_AUXILIARY = frozenset("be been being have has had do does did to even yet ever".split())


def _negated(text: str) -> set[str]:
    """The content words right after each negation (past auxiliaries), as `content_words`."""
    words = re.findall(r"[a-z']+", text.lower().replace("’", "'"))
    out: set[str] = set()
    for i, word in enumerate(words):
        if word in _NEGATIONS or word.endswith("n't"):
            after = [w for w in words[i + 1 : i + 4] if w not in _AUXILIARY]
            out |= content_words(" ".join(after[:1]))
    return out


def _opposite(sentence: str, closest: str) -> str | None:
    ours = {_stem(w) for w in re.findall(r"[a-z]+", sentence.lower())}
    theirs = {_stem(w) for w in re.findall(r"[a-z]+", closest.lower())}
    # "would not accept" says what "rejected" says: a negated word is no opposite.
    theirs -= {_stem(w) for w in _negated(closest)}
    for stem in ours - theirs:
        for other in _OPPOSITE.get(stem, ()):
            if other in theirs:
                return f"opposite {stem}/{other}"
    return None


def _roles(sentence: str, closest: str) -> str | None:
    """Two names that, swapped, make the sentence follow the passage sentence more closely:
    who did what to whom was turned round."""
    ours = list(dict.fromkeys(_key(n) for n in names(sentence, closest)))
    theirs = {_key(n) for n in names(closest, sentence)}
    shared = [n for n in ours if n and n in theirs]
    target = _words(closest)
    words = _words(sentence)
    here = _common(words, target)
    for a, b in itertools.combinations(shared, 2):
        swapped = [b if w == a else a if w == b else w for w in words]
        if _common(swapped, target) > here:
            return f"roles {a}/{b}"
    return None


def _words(text: str) -> list[str]:
    return [_key(w) for w in _TOKEN.findall(re.sub(r"['’]s\b", "", text))]


def _common(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two word lists."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]
