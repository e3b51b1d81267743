"""The ranking and answering levers, each on a small hand-written corpus."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from index.answer.answerer import Answerer
from index.answer.question import parse_since
from index.answer.spans import QuestionType, common_words, find_span, question_focus, question_type
from index.dates import parse_date
from index.errors import QuestionError
from index.ingest.sources import load_sources
from index.models import AnswerSentence
from index.search.analyzer import Analyzer, AnalyzerConfig
from index.search.build import build_snapshot
from index.search.searcher import SearchConfig, Searcher, SearchFilters
from tests.corpus import write_corpus

STORY = "The city council approved the new harbour bridge plan after a long debate about its cost."


def _article(
    title: str, date: str, text: str = STORY, source: str = "Coast News", url: str = ""
) -> str:
    # A closing line unique to each article (the date) keeps dedupe from merging them.
    return f"---\ntitle: {title}\npublished: {date}\nsource: {source}\nurl: {url}\n---\n{text} Filed {date}.\n"


@pytest.fixture
def harbour(tmp_path: Path) -> Searcher:
    write_corpus(tmp_path / "n", {
        "old.md": _article("Harbour bridge plan, first vote", "2021-03-01", url="https://old.example/a"),
        "new.md": _article("Harbour bridge plan, final vote", "2022-06-10", url="https://coast.example/b"),
        "future.md": _article("Harbour bridge plan, opening day", "2022-09-01", url="https://coast.example/c"),
        "other.md": _article("Harbour bridge plan, blog post", "2022-06-12", source="Bridge Blog", url="https://www.bridgeblog.example/d"),
    })  # fmt: skip
    return Searcher(build_snapshot(load_sources([tmp_path / "n"]).articles))


def _titles(searcher: Searcher, filters: SearchFilters) -> list[str]:
    return [h.article.title for h in searcher.search("harbour bridge plan council", 10, filters)]


def test_recent_news_outranks_old_news_on_the_same_story(harbour: Searcher) -> None:
    titles = _titles(harbour, SearchFilters(asked=parse_date("2022-06-14")))
    assert titles.index("Harbour bridge plan, final vote") < titles.index(
        "Harbour bridge plan, first vote"
    )


def test_without_recency_the_same_text_ties_on_bm25(harbour: Searcher) -> None:
    flat = Searcher(harbour.snapshot, SearchConfig(recency_weight=0))
    hits = flat.search(
        "harbour bridge plan council", 10, SearchFilters(asked=parse_date("2022-06-14"))
    )
    assert len({round(h.score, 6) for h in hits}) == 1


def test_articles_published_after_the_question_never_appear(harbour: Searcher) -> None:
    assert "Harbour bridge plan, opening day" not in _titles(
        harbour, SearchFilters(asked=parse_date("2022-06-14"))
    )
    assert "Harbour bridge plan, opening day" in _titles(
        harbour, SearchFilters(asked=parse_date("2022-09-01"))
    )  # same day counts


def test_since_and_source_narrow_the_results(harbour: Searcher) -> None:
    since = _titles(harbour, SearchFilters(since=datetime(2022, 6, 11, tzinfo=UTC)))
    assert sorted(since) == ["Harbour bridge plan, blog post", "Harbour bridge plan, opening day"]
    assert _titles(harbour, SearchFilters(source="bridgeblog.example")) == [
        "Harbour bridge plan, blog post"
    ]
    assert _titles(harbour, SearchFilters(source="Bridge Blog")) == [
        "Harbour bridge plan, blog post"
    ]
    assert _titles(harbour, SearchFilters(source="nowhere.example")) == []


def test_since_accepts_spans_and_dates_and_refuses_nonsense() -> None:
    now = datetime(2024, 1, 31, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2024, 1, 24, tzinfo=UTC)
    assert parse_since("24h", now) == datetime(2024, 1, 30, tzinfo=UTC)
    assert parse_since("2w", now) == datetime(2024, 1, 17, tzinfo=UTC)
    assert parse_since("2024-01-01", now) == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(QuestionError, match="'since' must look like 7d"):
        parse_since("last tuesday", now)


@pytest.mark.parametrize(
    ("question", "sentence", "span"),
    [
        (
            "How many GPUs will Meta have?",
            "By the end of 2024, Meta will have almost 600,000 GPUs.",
            "almost 600,000 GPUs",
        ),
        (
            "How much does Reality Labs cost Meta?",
            "Reality Labs costs Meta over $15 billion a year.",
            "over $15 billion",
        ),
        (
            "When will the bridge open?",
            "The bridge will open on March 3, 2025, the council said.",
            "on March 3, 2025",
        ),
        ("Who won the Women's World Cup?", "Spain won the Women's World Cup in Sydney.", "Spain"),
        (
            "Who leads the council?",
            "The council is led by Maria Lopez, a former engineer.",
            "Maria Lopez",
        ),
        (
            "Where did the storm make landfall?",
            "The storm made landfall near Tampa on Sunday.",
            "Tampa",
        ),
        (
            "Where is the new training cluster?",
            "The company put 100,000 Nvidia GPUs online in Memphis this week.",
            "Memphis",
        ),
        (  # "Teamster-represented" is an adjective, not a name; the possessive is not the name
            "Which company is facing a strike?",
            "Some 72,000 Teamster-represented jobs at UPS's depots are at stake in the strike.",
            "UPS",
        ),
        (  # named with the kind of thing asked for
            "Which national park was flooded?",
            "Officials in Montana County said Yellowstone National Park was flooded.",
            "Yellowstone National Park",
        ),
    ],
)
def test_question_types_mark_the_answer_span(
    tmp_path: Path, question: str, sentence: str, span: str
) -> None:
    analyzer = build_snapshot(
        load_sources([write_corpus(tmp_path / "x", {"a.txt": "T\nSome text here."})]).articles
    ).analyzer
    kind = question_type(question)
    assert kind is not QuestionType.THING or question.startswith("Which")
    focus = question_focus(question, analyzer)
    found = find_span(sentence, set(analyzer.terms(question)), kind, analyzer, focus=focus)
    assert found is not None
    assert sentence[found[0] : found[1]] == span


def test_a_dateline_naming_the_outlet_is_not_an_answer(tmp_path: Path) -> None:
    write_corpus(
        tmp_path / "n",
        {
            "a.md": _article(
                "Ferry news",
                "2022-06-10",
                "WASHINGTON (Coast News) — The ferry service will restart on Monday, officials said.",
            )
        },
    )
    articles = load_sources([tmp_path / "n"]).articles
    assert articles[0].text.startswith("The ferry service")


def test_half_a_short_question_is_not_an_answer(tmp_path: Path) -> None:
    write_corpus(tmp_path / "n", {
        "mars.md": _article("Rovers on Mars", "2022-06-10", "NASA's rovers on Mars collected more rock samples this year."),
        "money.md": _article("Capital spending rises", "2022-06-10", "Companies raised capital spending on new factories."),
    })  # fmt: skip
    answerer = Answerer(Searcher(build_snapshot(load_sources([tmp_path / "n"]).articles)))
    assert answerer.answer("What is the capital of Mars?").sentence is None
    assert answerer.answer("What did the rovers on Mars collect?").sentence is not None


def test_a_capital_that_only_opens_a_sentence_is_not_a_name(tmp_path: Path) -> None:
    analyzer = build_snapshot(
        load_sources([write_corpus(tmp_path / "x", {"a.txt": "T\nSome text here."})]).articles
    ).analyzer
    sentence = "Analysts said the North declared victory over the virus."
    asked = set(analyzer.terms("Which country declared victory over the virus?"))
    assert find_span(sentence, asked, QuestionType.PLACE, analyzer) == (0, len("Analysts"))
    common = common_words("Most analysts doubt the claim. " + sentence)
    span = find_span(sentence, asked, QuestionType.PLACE, analyzer, common=common)
    assert span is not None
    assert sentence[span[0] : span[1]] == "North"


def _answer_from(tmp_path: Path, title: str, date: str, text: str, question: str) -> AnswerSentence:
    """The answer sentence to ``question`` over an index of one article."""
    write_corpus(tmp_path / "n", {"a.md": _article(title, date, text)})
    answerer = Answerer(Searcher(build_snapshot(load_sources([tmp_path / "n"]).articles)))
    sentence = answerer.answer(question).sentence
    assert sentence is not None
    return sentence


def test_the_kind_asked_for_picks_the_answer_sentence(tmp_path: Path) -> None:
    answer = _answer_from(tmp_path, "Floods close roads in the north", "2022-06-14", (
        "Severe flooding washed out roads and bridges near the park in southern Montana on Monday, "
        "officials in Carbon County said. "
        "All entrances of Yellowstone National Park are closed after the flooding damaged roads."
    ), "Which national park was hit by flooding that washed out roads and bridges?")  # fmt: skip
    assert answer.highlight == "Yellowstone National Park"


def test_an_echo_of_the_question_is_not_its_answer(tmp_path: Path) -> None:
    answer = _answer_from(tmp_path, "Quiz of the week", "2022-07-01", (
        "Which retailer is accused of turning off the air conditioning in its stores?\n\n"
        "Shoppers say Bed Bath & Beyond switched off the cooling in its stores."
    ), "Which retailer is accused of turning off the air conditioning in its stores?")  # fmt: skip
    assert answer.text.startswith("Shoppers say Bed Bath")
    assert answer.highlight == "Bed Bath & Beyond"


def test_the_asking_part_outweighs_asides(tmp_path: Path) -> None:
    answer = _answer_from(tmp_path, "Ye buys a platform", "2022-10-17", (
        "Kanye West, who changed his name to Ye, had his account locked by Twitter. "
        "West is buying Parler, a social media platform favoured by conservatives."
    ), "Kanye West, who changed his name to Ye, is buying which social media platform?")  # fmt: skip
    assert answer.highlight == "Parler"


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("Which US national park was flooded this week?", {"nation", "park"}),
        ("Which kind of animal watched the procession?", {"anim"}),
        ("Storms hit the coast. Due to which hurricane?", {"hurrican"}),
        ("Which automaker recalled 2.9 million vehicles?", {"automak"}),
        ("How many GPUs will Meta have?", set()),
    ],
)
def test_the_focus_names_the_kind_of_thing_asked_for(question: str, focus: set[str]) -> None:
    assert question_focus(question, Analyzer(AnalyzerConfig())) == focus
