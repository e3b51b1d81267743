"""The answer journal: what was asked and answered, the votes on it, and the coverage report.

A front end records each answer it shows and gets a short key for it. The key is all a message
needs to carry: a reply to the answer (a follow-up) finds the conversation by walking from the
answer to the ones before it, the 👍/👎 buttons vote on it, and "More sources" lists what it was
built from, all after a restart too. Users are stored only as a salted hash of their id, and old
records are pruned after the retention period.

It lives in the article store's SQLite file (its own tables, its own connection), so a server has
one file to back up.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from index.answer.answerer import continue_conversation
from index.answer.sentences import split_sentences
from index.answer.spans import asking_part
from index.answer.understanding import Conversation, Turn, strip_wrappers
from index.errors import NewsbotError
from index.ingest.store import cannot_open, connect_shared
from index.models import Answer
from index.search.searcher import SearchFilters
from index.search.stopwords import DEFAULT as STOPWORDS

DEFAULT_RETENTION_DAYS = 90
MAX_SOURCES = 10
MAX_CHAIN = 6  # a conversation keeps its last turns only (understanding.Conversation.add)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    parent TEXT,
    at TEXT NOT NULL,
    guild TEXT,
    channel TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_at ON answers(at);
CREATE TABLE IF NOT EXISTS votes (
    answer TEXT NOT NULL REFERENCES answers(key) ON DELETE CASCADE,
    voter TEXT NOT NULL,
    vote INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (answer, voter)
);
CREATE TABLE IF NOT EXISTS threads (
    thread TEXT PRIMARY KEY,
    answer TEXT NOT NULL,
    owner TEXT NOT NULL,
    at TEXT NOT NULL
);
"""
_KEY = re.compile(r"^[0-9a-f]{16}$")


class JournalError(NewsbotError):
    """The journal cannot be opened or written."""


class Source(BaseModel):
    url: str | None
    title: str
    source: str
    published: datetime | None
    sentence: str


class AnswerRecord(BaseModel):
    """One answer as shown, enough to continue the conversation and explain it later."""

    key: str
    parent: str | None = None
    at: datetime
    question: str
    kind: str
    refusal: str | None = None
    turn: Turn | None = None  # what a follow-up carries over; None for a greeting
    sentence: str | None = None
    highlight: str | None = None
    url: str | None = None
    title: str | None = None
    passage: str | None = None
    matched: list[str] = []
    sources: list[Source] = []


class Vote(BaseModel):
    value: int  # +1 or -1
    changed: bool  # it replaced an earlier, different vote


class ReportLine(BaseModel):
    wording: str
    count: int


class CoverageReport(BaseModel):
    days: int
    questions: int
    refused: list[ReportLine]
    voted_down: list[ReportLine]


class Journal:
    """Thread-safe: one connection behind a lock (records are small and rare)."""

    def __init__(self, path: Path, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.path = path
        self.retention_days = retention_days
        self._lock = threading.Lock()
        try:
            self._db = connect_shared(path, _SCHEMA)
            row = self._db.execute("SELECT value FROM journal_meta WHERE key='salt'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO journal_meta VALUES ('salt', ?)", (secrets.token_hex(16),)
                )
                row = self._db.execute("SELECT value FROM journal_meta WHERE key='salt'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise JournalError(cannot_open(path, exc)) from None
        self._salt = str(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ----- answers ----------------------------------------------------------------------------

    def record(
        self,
        answer: Answer,
        *,
        parent: str | None = None,
        filters: SearchFilters | None = None,
        guild: int | None = None,
        channel: int | None = None,
        now: datetime | None = None,
    ) -> str:
        """Store ``answer`` (a follow-up of ``parent``, if given) and return its key."""
        key = secrets.token_hex(8)
        at = now or datetime.now(UTC)
        turn = continue_conversation(Conversation(), answer, filters).last()
        sentence = answer.sentence
        passages = (
            answer.passages[:MAX_SOURCES] if not answer.items else [i.hit for i in answer.items]
        )
        record = AnswerRecord(
            key=key,
            parent=parent if parent and _KEY.match(parent) else None,
            at=at,
            question=answer.question,
            kind=answer.kind,
            refusal=answer.refusal.value if answer.refusal else None,
            turn=turn,
            sentence=sentence.text if sentence else None,
            highlight=sentence.highlight if sentence else None,
            url=sentence.hit.article.url if sentence else None,
            title=sentence.hit.article.title if sentence else None,
            passage=sentence.hit.text if sentence else None,
            matched=_matched(answer),
            sources=[
                Source(
                    url=h.article.url,
                    title=h.article.title,
                    source=h.article.source,
                    published=h.article.published,
                    sentence=_first_sentence_with(h.text, sentence.text if sentence else None),
                )
                for h in passages
            ],
        )
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key,
                    record.parent,
                    at.isoformat(),
                    str(guild) if guild else None,
                    str(channel) if channel else None,
                    record.model_dump_json(),
                ),
            )
        return key

    def get(self, key: str) -> AnswerRecord | None:
        if not _KEY.match(key):
            return None
        with self._lock:
            row = self._db.execute("SELECT record FROM answers WHERE key=?", (key,)).fetchone()
        return AnswerRecord.model_validate_json(row[0]) if row else None

    def conversation(self, key: str) -> Conversation:
        """The conversation that ``key``'s answer ends: its turns, oldest first."""
        turns: list[Turn] = []
        seen: set[str] = set()
        current: str | None = key
        while current and current not in seen and len(turns) < MAX_CHAIN:
            seen.add(current)
            record = self.get(current)
            if record is None:
                break
            if record.turn is not None:
                turns.append(record.turn)
            current = record.parent
        return Conversation(turns=turns[::-1])

    # ----- threads ----------------------------------------------------------------------------

    def open_thread(self, thread: int, answer: str, owner: int) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO threads VALUES (?, ?, ?, ?)",
                (str(thread), answer, self.voter(owner), datetime.now(UTC).isoformat()),
            )

    def thread(self, thread: int) -> tuple[str, str] | None:
        """The latest answer in a follow-up thread and the hash of the member who opened it."""
        with self._lock:
            row = self._db.execute(
                "SELECT answer, owner FROM threads WHERE thread=?", (str(thread),)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def advance_thread(self, thread: int, answer: str) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE threads SET answer=? WHERE thread=?", (answer, str(thread)))

    # ----- votes ------------------------------------------------------------------------------

    def voter(self, user_id: int) -> str:
        """A salted hash: the same member always maps to the same voter, and the id is not kept."""
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:32]

    def vote(self, key: str, user_id: int, value: int) -> Vote | None:
        """One vote per member per answer; a second press replaces the first. None when the
        answer is unknown (pruned, or from another install)."""
        if value not in (1, -1) or self.get(key) is None:
            return None
        voter = self.voter(user_id)
        with self._lock, self._db:
            row = self._db.execute(
                "SELECT vote FROM votes WHERE answer=? AND voter=?", (key, voter)
            ).fetchone()
            self._db.execute(
                "INSERT OR REPLACE INTO votes VALUES (?, ?, ?, ?)",
                (key, voter, value, datetime.now(UTC).isoformat()),
            )
        return Vote(value=value, changed=row is not None and row[0] != value)

    def votes(self, key: str) -> dict[int, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT vote, COUNT(*) FROM votes WHERE answer=? GROUP BY vote", (key,)
            ).fetchall()
        return {int(v): int(n) for v, n in rows}

    # ----- report and retention ---------------------------------------------------------------

    def report(self, days: int = 7, limit: int = 10, now: datetime | None = None) -> CoverageReport:
        """The questions most often refused, and the answers most often voted down, over the
        last ``days``, grouped by their content words ("how many GPUs will Meta have" and "meta
        gpus, how many?" are one line)."""
        since = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat()
        with self._lock:
            rows = self._db.execute(
                "SELECT key, record FROM answers WHERE at >= ?", (since,)
            ).fetchall()
            down = dict(
                self._db.execute(
                    "SELECT answer, COUNT(*) FROM votes WHERE vote < 0 AND at >= ? GROUP BY answer",
                    (since,),
                ).fetchall()
            )
        refused: Counter[str] = Counter()
        voted_down: Counter[str] = Counter()
        wording: dict[str, str] = {}
        questions = 0
        for key, raw in rows:
            record = AnswerRecord.model_validate_json(raw)
            if record.turn is None:
                continue  # greetings are not questions
            questions += 1
            group = _wording_key(record.question)
            wording.setdefault(group, strip_wrappers(record.question) or record.question)
            if record.refusal == "not_covered":
                refused[group] += 1
            if key in down:
                voted_down[group] += int(down[key])
        return CoverageReport(
            days=days,
            questions=questions,
            refused=[
                ReportLine(wording=wording[g], count=n) for g, n in refused.most_common(limit)
            ],
            voted_down=[
                ReportLine(wording=wording[g], count=n) for g, n in voted_down.most_common(limit)
            ],
        )

    def prune(self, now: datetime | None = None) -> int:
        """Drop answers (and their votes) older than the retention period; returns how many."""
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=self.retention_days)).isoformat()
        with self._lock, self._db:
            gone = self._db.execute("DELETE FROM answers WHERE at < ?", (cutoff,)).rowcount
            self._db.execute("DELETE FROM threads WHERE at < ?", (cutoff,))
        return int(gone)


def _wording_key(question: str) -> str:
    text = asking_part(strip_wrappers(question) or question).lower().replace("’", "'")
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)
    content = sorted({w.removesuffix("s") for w in words if w not in STOPWORDS and len(w) > 1})
    return " ".join(content) or question.lower().strip()


def _matched(answer: Answer) -> list[str]:
    """The question's words that the answer's passage holds, as the passage writes them."""
    sentence = answer.sentence
    if sentence is None:
        return []
    asked = {w.lower() for w in re.findall(r"\w+", answer.read_as or answer.question)}
    asked -= STOPWORDS
    found = []
    for word in re.findall(r"[\w'’-]+", f"{sentence.hit.article.title} {sentence.hit.text}"):
        bare = word.lower().strip("'’-")
        if (bare in asked or bare.removesuffix("s") in asked) and word not in found:
            found.append(word)
    return found[:20]


def _first_sentence_with(text: str, wanted: str | None) -> str:
    sentences = split_sentences(text) or [text]
    if wanted and wanted in sentences:
        return wanted
    return sentences[0][:400]
