from pathlib import Path

import pytest

from index.answer.answerer import AnswerConfig, Answerer
from index.answer.spans import QuestionType, question_type
from index.errors import QuestionError
from index.ingest.sources import load_sources
from index.search.build import build_snapshot
from index.search.searcher import Searcher
from tests.corpus import write_corpus


@pytest.fixture
def answerer(tmp_path: Path) -> Answerer:
    return Answerer(
        Searcher(build_snapshot(load_sources([write_corpus(tmp_path / "news")]).articles))
    )


def test_how_many_highlights_the_number(answerer: Answerer) -> None:
    answer = answerer.answer("How many GPUs will Meta have?")
    assert answer.sentence is not None
    assert answer.sentence.highlight == "almost 600,000 GPUs"
    assert answer.sentence.hit.article.source == "Test Times"
    assert answer.passages[0].article.title == "Meta plans a huge GPU build-out"


def test_the_question_number_is_not_its_answer(answerer: Answerer) -> None:
    answer = answerer.answer("How many H100 chips did Meta buy in 2023?")
    assert answer.sentence is not None
    assert answer.sentence.highlight == "about 150,000 H100 chips"


def test_unrelated_question_is_not_found_with_the_reindex_time(answerer: Answerer) -> None:
    answer = answerer.answer("What is the capital of Mars?")
    assert answer.sentence is None
    assert not answer.found
    assert answer.indexed_at is not None
    assert answer.to_record()["answer"] is None


def test_one_passage_per_article_comes_first(tmp_path: Path) -> None:
    long_story = "GPUs everywhere\n\n" + " ".join(
        f"Meta counted {n} GPUs in hall {n} of the campus." for n in range(200)
    )
    weak = "Other news\n\nA blog mentioned Meta once, among many unrelated remarks about gardening and soil."
    write_corpus(tmp_path / "n", {"long.txt": long_story, "weak.txt": weak})
    snap = build_snapshot(load_sources([tmp_path / "n"]).articles)
    searcher = Searcher(snap)
    hits = searcher.search("Meta GPUs", limit=5)
    titles = [h.article.title for h in hits]
    assert titles[:2] == ["GPUs everywhere", "Other news"]  # the weak article is lifted to second
    assert titles[2:] == ["GPUs everywhere"] * 3  # then the long article's other passages
    assert hits[1].score < hits[2].score


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_refused(answerer: Answerer, question: str) -> None:
    with pytest.raises(QuestionError, match="The question is empty"):
        answerer.answer(question)


def test_huge_question_is_refused(answerer: Answerer) -> None:
    with pytest.raises(QuestionError, match="keep it under 500 characters"):
        answerer.answer("GPU " * 1000)


def test_question_of_only_common_words_is_refused(answerer: Answerer) -> None:
    with pytest.raises(QuestionError, match="no words to search for"):
        answerer.answer("What is it??")


def test_passage_count_follows_the_config(tmp_path: Path) -> None:
    snap = build_snapshot(load_sources([write_corpus(tmp_path / "news")]).articles)
    answer = Answerer(Searcher(snap), AnswerConfig(passages=1)).answer("GPUs")
    assert len(answer.passages) == 1


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many GPUs will Meta have?", QuestionType.NUMBER),
        ("How much does it cost?", QuestionType.NUMBER),
        ("When did the storm hit?", QuestionType.DATE),
        ("Who won the league?", QuestionType.PERSON),
        ("Where did the storm hit?", QuestionType.PLACE),
        ("Which club won the league?", QuestionType.THING),
        ("Which popular singer will tour in May?", QuestionType.PERSON),
        # The ask is in the last sentence; "who" in a relative clause asks nothing.
        (
            "Members of a group who planned a riot were held. Where was the event?",
            QuestionType.PLACE,
        ),
        ("Kanye West, who changed his name to Ye, is buying which platform?", QuestionType.THING),
    ],
)
def test_question_types(question: str, kind: QuestionType) -> None:
    assert question_type(question) is kind


@pytest.mark.parametrize(
    ("sentence", "highlight"),
    [
        # A model's number is part of its name, not the count asked for.
        ("Regulators ground 171 Boeing 737 Max 9 jets", "171"),
        ("Regulator grounds Boeing 737 Max 9 jets after a blowout", None),
        # "a 15-year high" is a span of time.
        ("The bank keeps rates at a 15-year high of 5.25 percent", "5.25 percent"),
        ("On Monday 300 people marched", "300"),
    ],
)
def test_numbers_inside_names_and_spans_of_time_are_not_counts(
    sentence: str, highlight: str | None
) -> None:
    from index.answer.spans import find_span
    from index.search.analyzer import Analyzer

    analyzer = Analyzer()
    asked = set(analyzer.terms("how many jets were grounded rates"))
    span = find_span(sentence, asked, QuestionType.NUMBER, analyzer)
    assert (sentence[span[0] : span[1]] if span else None) == highlight


FINAL = {
    "final.md": """---
title: Spain beat England to win the Women's World Cup
source: Test Times
published: 2023-08-20
---
Spain won the Women's World Cup for the first time, beating England 1-0 in the final in Sydney.

Captain Olga Carmona scored the only goal of the match in the first half.
""",
    "flight.md": """---
title: Regulator grounds jets after a door panel blows out
source: Test Times
published: 2024-01-07
---
A door plug tore away from an Alaska Airlines flight shortly after take-off from Portland on Friday.

The pilots landed safely and none of the passengers was seriously hurt.
""",
    "boe.md": """---
title: Bank of England keeps rates on hold
source: Test Times
published: 2023-11-02
---
The Bank of England held its main interest rate at 5.25 percent on Thursday.
""",
}


@pytest.fixture
def final(tmp_path: Path) -> Answerer:
    folder = write_corpus(tmp_path / "news", FINAL)
    return Answerer(Searcher(build_snapshot(load_sources([folder]).articles)))


def test_who_did_it_is_answered_by_the_sentence_with_the_deed(final: Answerer) -> None:
    answer = final.answer("Who scored the only goal of the Women's World Cup final?")
    assert answer.sentence is not None
    assert "Olga Carmona" in answer.sentence.highlight


def test_yes_no_evidence_may_rest_on_the_sentence_before(final: Answerer) -> None:
    answer = final.answer("Was anyone seriously hurt on the Alaska Airlines flight?")
    assert answer.sentence is not None
    assert "seriously hurt" in answer.sentence.text
    assert answer.sentence.highlight == ""  # never a guessed yes or no


def test_another_institutions_rate_is_no_answer(final: Answerer) -> None:
    answer = final.answer("What is the Federal Reserve's interest rate?")
    assert answer.sentence is None
