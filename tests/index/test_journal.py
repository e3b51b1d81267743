"""The answer journal: follow-up chains, votes, the coverage report and retention, on a real file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from index.answer.answerer import Answerer
from index.answer.journal import Journal
from index.ingest.sources import load_sources
from index.search.build import build_snapshot
from index.search.searcher import Searcher
from tests.corpus import write_corpus


@pytest.fixture
def answerer(tmp_path: Path) -> Answerer:
    snapshot = build_snapshot(load_sources([write_corpus(tmp_path / "news")]).articles)
    return Answerer(Searcher(snapshot))


def test_a_chain_of_answers_is_a_conversation_again_after_reopening(
    answerer: Answerer, tmp_path: Path
) -> None:
    path = tmp_path / "store.sqlite3"
    journal = Journal(path)
    first = answerer.answer("How many GPUs will Meta have?")
    key = journal.record(first, guild=1, channel=2)
    journal.close()

    reopened = Journal(path)  # a restart loses nothing
    conversation = reopened.conversation(key)
    assert [t.subject for t in conversation.turns] == ["almost 600,000 GPUs"]
    follow = answerer.answer("and how many H100 chips did it buy?", conversation=conversation)
    second = reopened.record(follow, parent=key)
    assert len(reopened.conversation(second).turns) == 2
    record = reopened.get(second)
    assert record is not None and record.parent == key
    assert record.sources and record.sources[0].title
    assert "GPUs" in (reopened.get(key).matched if reopened.get(key) else [])  # type: ignore[union-attr]


def test_one_vote_per_member_and_a_second_press_changes_it(
    answerer: Answerer, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "store.sqlite3")
    key = journal.record(answerer.answer("How many GPUs will Meta have?"))
    assert journal.vote(key, 42, 1) is not None
    again = journal.vote(key, 42, -1)
    assert again is not None and again.changed
    journal.vote(key, 43, -1)
    assert journal.votes(key) == {-1: 2}
    assert journal.vote("0123456789abcdef", 42, 1) is None  # unknown answer
    assert journal.vote("'; DROP TABLE votes; --", 42, 1) is None
    # The member's id is not stored, only a salted hash of it.
    voters = sqlite3.connect(tmp_path / "store.sqlite3").execute("SELECT voter FROM votes")
    assert {v for (v,) in voters} == {journal.voter(42), journal.voter(43)}
    assert Journal(tmp_path / "store.sqlite3").voter(42) == journal.voter(42) != "42"


def test_the_report_groups_refusals_and_down_votes_and_old_ones_are_pruned(
    answerer: Answerer, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "store.sqlite3", retention_days=90)
    now = datetime.now(UTC)
    for typed in (
        "What is the capital of Mars?",
        "capital of mars?",
        "hey, what's the capital of Mars",
    ):
        journal.record(answerer.answer(typed), now=now)
    old = journal.record(
        answerer.answer("Who won the election on Jupiter?"), now=now - timedelta(days=100)
    )
    wrong = journal.record(answerer.answer("How many GPUs will Meta have?"), now=now)
    journal.vote(wrong, 1, -1)
    journal.vote(wrong, 2, -1)
    journal.record(answerer.answer("hi"), now=now)  # a greeting is not a question

    report = journal.report(days=7)
    assert report.questions == 4
    assert [(line.count) for line in report.refused] == [3]
    assert "capital" in report.refused[0].wording.lower()
    assert [(line.wording, line.count) for line in report.voted_down] == [
        ("How many GPUs will Meta have?", 2)
    ]
    assert journal.prune() == 1
    assert journal.get(old) is None and journal.get(wrong) is not None
