"""The support check fails sentences their passage contradicts or never states, and passes
sentences it does state, verbatim or in other words (issue 27, finding 2)."""

from __future__ import annotations

import pytest

from rag.contradiction import conflict
from rag.support import SupportChecker

KREMLIN = (
    "Russia is opposed to European proposals on security guarantees for Ukraine and will not "
    "allow the presence of NATO troops on its neighbour’s territory, the Kremlin has said. "
    "Speaking to reporters in Moscow on Wednesday, Kremlin spokesman Dmitry Peskov said Russia "
    "would not accept a European troop deployment there. Ukraine lost 12 soldiers in the attack "
    "on 3 March, officials said. Germany beat France 2-1 in the final in Berlin."
)
ABOUT = "Al Jazeera 27 Aug 2025 Kremlin says Russia opposes European security guarantees"


@pytest.fixture(scope="module")
def checker(real_embedder) -> SupportChecker:  # type: ignore[no-untyped-def]
    return SupportChecker(real_embedder.embed_query, 0.5)


def test_a_sentence_saying_the_opposite_of_its_passage_fails(checker: SupportChecker) -> None:
    flipped = (
        "Russia supports European proposals on security guarantees for Ukraine and will welcome "
        "the presence of NATO troops on its neighbour's territory [1]."
    )
    assert conflict(flipped, KREMLIN, ABOUT)
    assert checker.score(flipped, KREMLIN, ABOUT) < checker.threshold


@pytest.mark.parametrize(
    ("sentence", "why"),
    [
        ("Ukraine lost 15 soldiers in the attack on 3 March, officials said.", "number 15"),
        ("Ukraine lost 12 soldiers in the attack on 3 April, officials said.", "date apr"),
        ("Speaking to reporters on Friday, Peskov said Russia would not accept it.", "date fri"),
        ("Poland lost 12 soldiers in the attack on 3 March, officials said.", "name Poland"),
        ("France beat Germany 2-1 in the final in Berlin.", "roles"),
        ("Russia will allow the presence of NATO troops on its neighbour’s territory.", "negation"),
        ("Peskov said Russia would accept a European troop deployment there.", "negation"),
        ("Russia is not opposed to European proposals on security guarantees.", "negation"),
        ("Russia supports European proposals on security guarantees for Ukraine.", "opposite"),
    ],
)
def test_perturbed_sentences_fail(checker: SupportChecker, sentence: str, why: str) -> None:
    found = conflict(sentence, KREMLIN, ABOUT)
    assert found and found.startswith(why), found
    assert checker.score(sentence, KREMLIN, ABOUT) == 0.0


@pytest.mark.parametrize(
    "sentence",
    [
        "Ukraine lost 12 soldiers in the attack on 3 March, officials said [1].",
        "Russia will not allow NATO troops on Ukrainian territory, the Kremlin said.",
        "Kremlin spokesman Dmitry Peskov said Russia would not accept a European troop deployment.",
        "Germany defeated France 2-1 in the final.",
        # Outlet, date and title are told beside the passage: a sentence may take them from there.
        "Al Jazeera reported on 27 August that Russia opposes European security guarantees.",
    ],
)
def test_sentences_the_passage_states_pass(checker: SupportChecker, sentence: str) -> None:
    assert conflict(sentence, KREMLIN, ABOUT) is None
    assert checker.score(sentence, KREMLIN, ABOUT) >= checker.threshold


def test_a_name_from_the_title_passes_only_when_the_title_is_told() -> None:
    sentence = "Al Jazeera reported that Russia is opposed to European proposals."
    assert conflict(sentence, KREMLIN, ABOUT) is None
    assert conflict(sentence, KREMLIN) == "name Al"


def test_a_month_named_may_is_a_date_but_the_verb_is_not() -> None:
    passage = "Talks resumed in May. Officials said they may meet again."
    assert conflict("Officials may meet again.", passage) is None
    assert conflict("Talks resumed in June.", passage) == "date jun"


@pytest.mark.parametrize(
    ("sentence", "passage"),
    [
        ("The war between Russia and Ukraine goes on.", "The Russia-Ukraine war goes on."),
        ("An analyst said Russia was stalling.", "Russia was stalling, analysts said."),
        ("Everyone agrees guarantees are needed.", "All sides agree guarantees are needed."),
        ("The minister sat in the front row.", "The minister was in the front row on Monday."),
        ("The two sides met in Istanbul.", "Russia and Ukraine met in Istanbul."),
        ("Russia refused to accept the deployment.", "Russia would not accept the deployment."),
        ("Russia rejected the deployment.", "Russia would not accept the deployment."),
        ("American troops will not be sent.", "Trump said US troops will not be sent."),
    ],
)
def test_ordinary_paraphrases_are_not_taken_for_contradictions(sentence: str, passage: str) -> None:
    assert conflict(sentence, passage) is None
