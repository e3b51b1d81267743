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
