"""The Discord renderer on its own: limits, escaping, not-found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.discord_render import (
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    TOTAL_LIMIT,
    answer_embed,
    clip,
    embed_length,
    not_found_embed,
    progress_text,
)
from index.ingest.reindex import ProgressEvent, RefreshCounts
from index.models import Answer, AnswerSentence, ArticleMeta, Hit
from tests.helpers import discord_shows

WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _answer(
    sentence: str,
    start: int,
    end: int,
    *,
    title: str = "Headline",
    question: str = "Q?",
    n_hits: int = 3,
) -> Answer:
    hits = [
        Hit(
            article=ArticleMeta(
                id=f"a{i}",
                url=f"https://e.test/{i}",
                title=f"{title} {i}",
                source="Outlet",
                published=WHEN,
            ),
            position=0,
            text=sentence,
            score=1.0,
        )
        for i in range(n_hits)
    ]
    return Answer(
        question=question,
        sentence=AnswerSentence(text=sentence, start=start, end=end, hit=hits[0]),
        passages=hits,
        indexed_at=WHEN,
        articles=42,
    )


def test_the_span_is_bold_and_sources_are_cited() -> None:
    sentence = "Meta will have almost 600,000 GPUs by the end of 2024."
    embed = answer_embed(_answer(sentence, 15, 34))
    assert discord_shows(embed["description"]) == (
        "Meta will have **almost 600,000 GPUs** by the end of 2024.\n\n*As of 2026-11-26, per Outlet.*"
    )
    sources = embed["fields"][0]["value"]
    assert sources.count("](https://e.test/") == 3  # masked links, one line each
    assert sources.splitlines()[0].startswith("1. [Headline 0](https://e.test/")
    assert sources.splitlines()[0].endswith(") · Outlet · 2026-11-26")
    assert len(sources.splitlines()) == 3
    assert embed["footer"]["text"] == "42 articles indexed · last reindex 2026-11-26 12:00 UTC"


def test_markdown_and_mentions_in_articles_are_escaped() -> None:
    sentence = "Raiders post @everyone, <@&123456789012345678> and *stars* or __lines__ in `code`."
    embed = answer_embed(_answer(sentence, 0, 7, title="@here **bold**"))
    description = embed["description"]
    assert "@everyone" not in description and "@\u200beveryone" in description
    assert "\\<@&123456789012345678>" in description  # escaped: shown as text, not as a role
    assert (
        r"\*stars\*" in description
        and r"\_\_lines\_\_" in description
        and r"\`code\`" in description
    )
    assert "@here" not in embed["fields"][0]["value"]


def test_not_found_says_so_plainly() -> None:
    answer = Answer(question="What is the capital of Mars?", indexed_at=WHEN, articles=42)
    embed = answer_embed(answer)
    assert embed == not_found_embed(answer)
    assert "does not cover this question" in embed["description"]
    assert "fields" not in embed
    assert "last reindex 2026-11-26 12:00 UTC" in embed["footer"]["text"]


@pytest.mark.parametrize("words", [10, 800, 5000])
def test_every_part_fits_discord_limits(words: int) -> None:
    sentence = " ".join(["supercalifragilistic*"] * words)
    middle = len(sentence) // 2
    answer = _answer(sentence, middle, middle + 21, title="T" * 400, question="Why? " * 200)
    embed = answer_embed(answer)
    assert len(embed["title"]) <= TITLE_LIMIT
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    assert all(len(f["value"]) <= FIELD_VALUE_LIMIT for f in embed["fields"])
    assert embed_length(embed) <= TOTAL_LIMIT
    assert embed["description"].count("**") == 2  # the bold span survives trimming


def test_clip_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    assert clip("one two three four", 12) == "one two…"
    assert clip("short", 10) == "short"
    assert len(clip("x" * 5000, 100)) == 100


def test_reindex_progress_reads_as_counts_per_stage() -> None:
    counts = RefreshCounts(unchanged=14)
    fetching = ProgressEvent(stage="collecting", done=14, total=14, counts=counts)
    assert progress_text(fetching) == (
        "Reindexing… fetching 14/14 items (0 new, 0 updated, 14 unchanged, 0 failed)"
    )
    indexing = ProgressEvent(stage="indexing", done=1, total=1, counts=counts)
    assert progress_text(indexing) == "Reindexing… indexing 1/1"
