"""Reading questions as people type them: wrappers, open questions, chit-chat, languages,
follow-ups; and the question's words mended against the index."""

from __future__ import annotations

import pytest

from index.answer.understanding import (
    Conversation,
    Intent,
    Turn,
    brief_topic,
    language_of,
    read_question,
    strip_wrappers,
)
from index.search.analyzed import AnalyzedArticle
from index.search.analyzer import Analyzer
from index.search.query import build_query


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("Can you tell me how many GPUs Meta will have?", "how many GPUs Meta will have?"),
        ("hey bot, who won the World Cup?", "who won the World Cup?"),
        ("Do you know where xAI built Colossus? thanks", "where xAI built Colossus?"),
        ("please, what did the ECB do?", "what did the ECB do?"),
        ("I'd like to know who won", "who won"),
        ("@newsbot how much did it cost", "how much did it cost"),
    ],
)
def test_wrappers_are_not_part_of_the_question(typed: str, asked: str) -> None:
    assert strip_wrappers(typed) == asked


@pytest.mark.parametrize(
    ("typed", "topic"),
    [
        ("what's new with Meta?", "Meta"),
        ("tell me about the heatwave", "heatwave"),
        ("any news about Nvidia?", "Nvidia"),
        ("what happened at the ECB?", "ECB"),
        ("summarize the news about AI chips", "AI chips"),
        ("What's the latest news?", ""),
        ("latest headlines", ""),
        ("xai", "xai"),
        ("the latest on Tesla", "Tesla"),
    ],
)
def test_open_questions_name_their_topic(typed: str, topic: str) -> None:
    assert brief_topic(typed) == topic
    assert read_question(typed).intent is Intent.BRIEF


@pytest.mark.parametrize(
    "typed",
    ["How many GPUs will Meta have?", "Who won?", "Why is Meta buying GPUs?", "Is Tesla spending?"],
)
def test_fact_questions_are_not_briefs(typed: str) -> None:
    assert brief_topic(typed) is None
    assert read_question(typed).intent is Intent.FACT


@pytest.mark.parametrize(
    "typed", ["hi", "hello!", "thanks!", "lol nice", "hey bot", "ok", "who are you?"]
)
def test_greetings_are_chitchat(typed: str) -> None:
    assert read_question(typed).intent is Intent.CHITCHAT


@pytest.mark.parametrize(
    "typed",
    [
        "¿Quién ganó el Mundial femenino?",
        "Qui a gagné la Coupe du monde ?",
        "Wer hat die WM gewonnen?",
    ],
)
def test_other_languages_are_recognised(typed: str) -> None:
    assert language_of(typed) is not None
    assert read_question(typed).intent is Intent.FOREIGN


def test_english_is_english() -> None:
    assert language_of("Who won the Women's World Cup in Sydney?") is None


def test_a_followup_leans_on_the_last_turn_and_asks_last() -> None:
    conversation = Conversation(
        turns=[Turn(question="Who won the Women's World Cup?", subject="Spain")]
    )
    reading = read_question("who's the captain?", conversation)
    assert reading.followup and reading.intent is Intent.FACT
    assert reading.query == "Who won the Women's World Cup? Spain. Who's the captain?"


def test_what_about_swaps_the_subject() -> None:
    conversation = Conversation(
        turns=[Turn(question="How many H100s did Meta buy?", asked="How many H100s did Meta buy?")]
    )
    assert read_question("what about Microsoft?", conversation).query == (
        "How many H100s did Microsoft buy?"
    )


def test_a_question_that_stands_alone_is_not_dragged_back() -> None:
    conversation = Conversation(turns=[Turn(question="Who won the World Cup?", subject="Spain")])
    reading = read_question("How many GPUs will Meta have?", conversation)
    assert not reading.followup and reading.query == "How many GPUs will Meta have?"


def test_a_conversation_keeps_its_last_turns_only() -> None:
    conversation = Conversation()
    for n in range(10):
        conversation = conversation.add(Turn(question=f"q{n}"))
    assert [t.question for t in conversation.turns] == [f"q{n}" for n in range(4, 10)]


VOCAB = {
    t: i
    for i, t in enumerate(
        [
            "gpu",
            "meta",
            "tesla",
            "dojo",
            "chief",
            "execut",
            "said",
            "say",
            "bought",
            "european",
            "central",
            "bank",
            "ecb",
        ]
    )
}


def concepts(text: str) -> list[tuple[tuple[str, ...], ...]]:
    return [c.alternatives for c in build_query(text, Analyzer(), VOCAB).concepts]


def test_lower_case_plurals_find_the_indexed_singular() -> None:
    assert concepts("how many gpus will meta have") == [(("gpu",),), (("meta",),)]


def test_typos_are_mended_and_reported() -> None:
    query = build_query("How much did teslla spend on dojo?", Analyzer(), VOCAB)
    assert [c.read for c in query.corrections] == ["tesla"]
    assert query.concepts[0].alternatives == (("tesla",),)


def test_a_misspelt_common_word_is_dropped_and_a_real_word_is_kept() -> None:
    assert concepts("meta hvae") == [(("meta",),)]  # "hvae" is "have", a stopword
    assert concepts("place")[0] == (("place",),)  # a real word, not a typo of anything


def test_aliases_work_both_ways() -> None:
    assert concepts("CEO")[0][1:2] == (("chief", "execut"),)
    assert concepts("chief executive") == [(("chief", "execut"), ("ceo",))]
    assert concepts("ECB")[0][1:] == (("european", "central", "bank"),)


def test_a_base_verb_reaches_its_irregular_forms() -> None:
    assert concepts("say") == [(("say",), ("said",), ("say",))][:1] or concepts("say")[0][0] == (
        "say",
    )
    assert ("said",) in concepts("say")[0]
    assert ("bought",) in concepts("buy")[0]


def test_acronyms_the_articles_define_are_learned_saved_and_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from index.answer.answerer import Answerer
    from index.models import Article
    from index.search import snapshot as snapshots
    from index.search.build import build_snapshot, extend_snapshot

    def article(n: int, title: str, text: str) -> Article:
        return Article(id=f"a{n}", title=title, text=text, source="Desk", origin="test")

    defines = article(
        1,
        "Rules for drones",
        "The Federal Aviation Administration (FAA) wrote new rules for drones on Monday.",
    )
    spelled = article(
        2,
        "Grounded jets",
        "The Federal Aviation Administration grounded 171 planes after a door plug blew out.",
    )
    snapshots.save(build_snapshot([defines, spelled], workers=1), tmp_path / "idx")
    loaded = snapshots.load(tmp_path / "idx")
    assert loaded.aliases == {"faa": "Federal Aviation Administration"}
    answer = Answerer.load(tmp_path / "idx").answer("How many planes did the FAA ground?")
    assert answer.sentence is not None and "171" in answer.sentence.highlight

    later = article(
        3, "Space agency", "The European Space Agency (ESA) launched a probe on Tuesday."
    )
    extended = extend_snapshot(
        loaded, [(later.meta(), AnalyzedArticle.of([(later.text, Analyzer().terms(later.text))]))]
    )
    assert extended.aliases == {
        "faa": "Federal Aviation Administration",
        "esa": "European Space Agency",
    }


def test_words_that_stand_for_the_answer_are_not_searched() -> None:
    # "Was anyone hurt?": no article says "anyone"; the sentence that answers says "none".
    assert concepts("was anyone hurt at meta") == concepts("was hurt at meta")


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("thanks!", False),
        ("lol nice", False),
        ("that is a great article", False),
        ("how many gpus will meta have", True),
        ("Meta GPUs, any news?", True),
        ("is the ECB cutting rates", True),
        ("ok?", False),  # under three words
    ],
)
def test_only_questions_are_read_as_questions_in_answer_channels(text: str, question: bool) -> None:
    from index.answer.understanding import looks_like_question

    assert looks_like_question(text) is question
