"""The local article store: one SQLite file (WAL) with articles, their analyses (passages and
term ids, see ``AnalyzedArticle``), and the fetch state of every feed and page.

Every change is its own transaction, so a crash at any point leaves a consistent store: an article
is either there with its whole analysis or waiting for analysis, never half-written.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from itertools import repeat
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from index.errors import NewsbotError
from index.ingest.articles import article_identity
from index.models import Article, ArticleMeta, Problem
from index.search.analyzed import AnalyzedArticle

# 2: analyses as term ids into the store's vocabulary (the ``analyses`` and ``terms`` tables),
# not one row of text and space-joined terms per passage.
SCHEMA_VERSION = 2
_INT32 = np.dtype("<i4")
READ_BATCH = 500
CACHE_KIB = 128 * 1024
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    url TEXT,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    published TEXT,
    authors TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    origin TEXT NOT NULL,
    entry_key TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    analysis TEXT
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
-- Covering indexes: the rows hold whole article texts, so a question that would otherwise read
-- the table (which keys a source holds, how many articles are analyzed) reads gigabytes.
DROP INDEX IF EXISTS articles_origin;
CREATE INDEX IF NOT EXISTS articles_origin_key ON articles(origin, key);
CREATE INDEX IF NOT EXISTS articles_analysis ON articles(analysis, id);
CREATE INDEX IF NOT EXISTS articles_entry ON articles(entry_key);
-- One row per analyzed article: its passage texts back to back (UTF-8) and their byte lengths,
-- and every passage's terms as ids into ``terms`` with the count per passage (little-endian
-- int32 arrays). A rebuild reads numbers, not text to split and look up again.
CREATE TABLE IF NOT EXISTS analyses (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    texts BLOB NOT NULL,
    text_lengths BLOB NOT NULL,
    term_counts BLOB NOT NULL,
    terms BLOB NOT NULL
);
-- Only grows: ids stay valid for every stored analysis. Numbered 0, 1, 2, … in insertion order.
CREATE TABLE IF NOT EXISTS terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS fetch_state (
    url TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_attempt TEXT,
    last_success TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS item_failures (
    url TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    error TEXT NOT NULL,
    failures INTEGER NOT NULL,
    first_failed TEXT NOT NULL,
    last_attempt TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS item_failures_origin ON item_failures(origin);
-- What each local source file held when last read, so an unchanged file (same size and mtime)
-- or an unchanged line of a JSONL archive (same bytes) is not parsed and cleaned again.
CREATE TABLE IF NOT EXISTS source_files (
    origin TEXT NOT NULL,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    reader TEXT NOT NULL,
    PRIMARY KEY (origin, file)
);
CREATE TABLE IF NOT EXISTS source_records (
    origin TEXT NOT NULL,
    file TEXT NOT NULL,
    digest BLOB NOT NULL,
    key TEXT,  -- NULL for a record that could not be read, with its problem
    problem_origin TEXT,
    problem_reason TEXT,
    PRIMARY KEY (origin, file, digest)
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta VALUES ('generation', '0');
CREATE TRIGGER IF NOT EXISTS articles_added AFTER INSERT ON articles BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
END;
CREATE TRIGGER IF NOT EXISTS articles_removed AFTER DELETE ON articles BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
END;
CREATE TRIGGER IF NOT EXISTS articles_changed
AFTER UPDATE OF url, title, text, source, published, authors, analysis ON articles BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
END;
"""


class StoreError(NewsbotError):
    """The article store cannot be opened or is not ours."""


class Change(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


class FetchState(BaseModel):
    url: str
    kind: str
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None


class ItemFailure(BaseModel):
    """A feed entry's page that could not be fetched or read, until it succeeds or leaves the feed."""

    url: str
    origin: str
    error: str
    failures: int
    first_failed: datetime
    last_attempt: datetime


def connect_shared(path: Path, schema: str) -> sqlite3.Connection:
    """A connection to the store file for a part that keeps its own tables in it (the answer
    journal, the servers' settings): WAL, foreign keys, its schema; usable from any thread
    behind the caller's lock. Raises sqlite3.DatabaseError, for ``cannot_open`` to word."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(schema)
    return db


def cannot_open(path: Path, exc: sqlite3.DatabaseError) -> str:
    """Why the store file (articles, journal and server settings share it) cannot be opened,
    and what to do: wait for a lock, or move a damaged file aside."""
    if "locked" in str(exc) or "busy" in str(exc):
        # Busy is not broken: moving it aside would throw the articles away.
        return (
            f"The article store {path} is locked by another program ({exc}); wait for it to "
            "finish and run the command again."
        )
    if "disk" in str(exc):  # "disk I/O error", "database or disk is full": a full disk
        # Not damage: moving the store aside would throw its articles away for nothing.
        return (
            f"The article store {path} cannot be written ({exc}); free disk space, then run "
            "the command again."
        )
    return (
        f"The article store {path} cannot be opened ({exc}); move it aside and run "
        "`newsbot reindex`."
    )


class ArticleStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # SQLite's default page cache is 2 MB; an archive's store is gigabytes, and each
            # article written or deleted touches pages of several indexes.
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(cannot_open(path, exc)) from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] == "1":
            self._upgrade_from_1()
        elif row[0] != str(SCHEMA_VERSION):
            raise StoreError(
                f"The article store {path} has schema version {row[0]}, but this newsbot uses {SCHEMA_VERSION}; "
                "move it aside and run `newsbot reindex` to refetch."
            )

        self._vocab: list[str] = []  # the ``terms`` table, read when first needed
        self._term_id: dict[str, int] = {}

    def _upgrade_from_1(self) -> None:
        """Schema 1 kept a row of text and space-joined terms per passage. Those analyses are
        dropped, not converted: every article is analyzed again from its stored text on the
        next reindex (``analysis_fingerprint`` names the stored form, so none of them matches),
        on every core, which costs about what converting them would."""
        with self._transaction():
            self._db.execute("DROP TABLE IF EXISTS passages")
            self._db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ArticleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- articles ---------------------------------------------------------------------------

    def put(self, article: Article, origin: str, entry_key: str | None = None) -> Change:
        """Insert or update one article, deduplicated by canonical URL and by text."""
        return self._put(article, origin, entry_key)[0]

    def put_analyzed(
        self,
        article: Article,
        origin: str,
        analyzed: AnalyzedArticle,
        fingerprint: str,
        identity: tuple[str, str] | None = None,
    ) -> tuple[Change, str, AnalyzedArticle]:
        """``put``, and store the article's analysis with it when it is new or changed, in the
        same transaction. Returns the change, the stored article's id (an updated article
        keeps the id it had) and the analysis as stored: its ids into the store's vocabulary,
        which a builder maps once for every article, not once per article."""
        with self._transaction():
            change, stored_id = self._put(article, origin, None, identity, fingerprint)
            if change in (Change.NEW, Change.UPDATED):
                [analyzed] = self._write_analyses([(stored_id, analyzed)])
        return change, stored_id, analyzed

    def _put(
        self,
        article: Article,
        origin: str,
        entry_key: str | None,
        identity: tuple[str, str] | None = None,
        analysis: str | None = None,
    ) -> tuple[Change, str]:
        """Insert or update; ``analysis`` is the fingerprint of the analysis the caller stores
        with the article in this transaction (set here: updating the row again afterwards would
        rewrite its whole text)."""
        key, digest = identity or article_identity(article)
        now = _now()
        with self._transaction():
            row = self._db.execute(
                "SELECT id, content_hash FROM articles WHERE key=?", (key,)
            ).fetchone()
            if row is not None:
                if row[1] == digest:
                    self._db.execute(
                        "UPDATE articles SET last_seen=?, entry_key=COALESCE(?, entry_key), origin=? WHERE id=?",
                        (now, entry_key, origin, row[0]),
                    )
                    return Change.UNCHANGED, row[0]
                # A new version of a story replaces the old one and is analyzed again.
                self._db.execute("DELETE FROM analyses WHERE article_id=?", (row[0],))
                self._db.execute(
                    "UPDATE articles SET url=?, title=?, text=?, source=?, published=?, authors=?, content_hash=?,"
                    " origin=?, entry_key=?, last_seen=?, analysis=? WHERE id=?",
                    (*_fields(article), digest, origin, entry_key, now, analysis, row[0]),
                )
                return Change.UPDATED, row[0]
            same_text = self._db.execute(
                "SELECT id FROM articles WHERE content_hash=?", (digest,)
            ).fetchone()
            if same_text is not None:
                self._db.execute("UPDATE articles SET last_seen=? WHERE id=?", (now, same_text[0]))
                return Change.DUPLICATE, same_text[0]
            self._db.execute(
                "INSERT INTO articles (id, key, url, title, text, source, published, authors, content_hash,"
                " origin, entry_key, first_seen, last_seen, analysis) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (article.id, key, *_fields(article), digest, origin, entry_key, now, now, analysis),
            )
            return Change.NEW, article.id

    def has_entry(self, entry_key: str) -> bool:
        """Whether a feed entry, in this exact version, was already fetched and stored."""
        row = self._db.execute("SELECT id FROM articles WHERE entry_key=?", (entry_key,)).fetchone()
        if row is not None:
            self._db.execute("UPDATE articles SET last_seen=? WHERE id=?", (_now(), row[0]))
        return row is not None

    def keys_from(self, origin: str) -> set[str]:
        return {
            k for (k,) in self._db.execute("SELECT key FROM articles WHERE origin=?", (origin,))
        }

    def remove_keys(self, keys: set[str]) -> int:
        with self._transaction():
            return sum(
                self._db.execute("DELETE FROM articles WHERE key=?", (k,)).rowcount for k in keys
            )

    def remove_origins_except(self, origins: set[str]) -> int:
        """Articles of sources no longer configured leave the store. The stored sources are
        listed from the indexes first: ``NOT IN`` would read every article row (gigabytes in an
        archive's store) on every refresh, to usually delete nothing."""
        removed = 0
        with self._transaction():
            for table in ("source_files", "source_records", "articles"):
                stored = [o for (o,) in self._db.execute(f"SELECT DISTINCT origin FROM {table}")]
                for origin in set(stored) - origins:
                    cursor = self._db.execute(f"DELETE FROM {table} WHERE origin=?", (origin,))
                    removed += cursor.rowcount if table == "articles" else 0
        return removed

    def prune_older_than(self, cutoff: datetime) -> int:
        with self._transaction():
            return self._db.execute(
                "DELETE FROM articles WHERE COALESCE(published, first_seen) < ?",
                (cutoff.isoformat(),),
            ).rowcount

    def cap_origins(self, caps: dict[str, int]) -> int:
        """Keep at most ``caps[origin]`` articles of each origin, the newest; the rest go."""
        removed = 0
        with self._transaction():
            for origin, keep in caps.items():
                removed += self._db.execute(
                    "DELETE FROM articles WHERE id IN (SELECT id FROM articles WHERE origin=?"
                    " ORDER BY COALESCE(published, first_seen) DESC LIMIT -1 OFFSET ?)",
                    (origin, keep),
                ).rowcount
        return removed

    def fetched_since(self, urls: list[str], since: datetime) -> set[str]:
        """Which of ``urls`` were fetched (successfully or not) at ``since`` or later."""
        marks = ",".join("?" * len(urls))
        rows = self._db.execute(
            f"SELECT url FROM fetch_state WHERE url IN ({marks}) AND last_attempt >= ?",
            (*urls, since.isoformat()),
        )
        return {row[0] for row in rows}

    def generation(self) -> int:
        """A number that grows with every change to the articles or their analysis, in the same
        transaction as the change (triggers): a snapshot built from generation N is current
        exactly while the store is still at N, whatever crashed in between."""
        row = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def count_analyzed(self, fingerprint: str) -> int:
        return int(
            self._db.execute(
                "SELECT COUNT(*) FROM articles WHERE analysis=?", (fingerprint,)
            ).fetchone()[0]
        )

    def analyzed_ids(self, fingerprint: str) -> set[str]:
        rows = self._db.execute("SELECT id FROM articles WHERE analysis=?", (fingerprint,))
        return {row[0] for row in rows}

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def count_by_origin(self) -> dict[str, int]:
        return dict(
            self._db.execute("SELECT origin, COUNT(*) FROM articles GROUP BY origin").fetchall()
        )

    # ----- local source files -----------------------------------------------------------------

    def source_files(self, origin: str) -> dict[str, tuple[int, int, str]]:
        """Each file of a local source as last read completely: (size, mtime_ns, reader)."""
        rows = self._db.execute(
            "SELECT file, size, mtime_ns, reader FROM source_files WHERE origin=?", (origin,)
        )
        return {file: (size, mtime, reader) for file, size, mtime, reader in rows}

    def file_records(self, origin: str, file: str) -> dict[bytes, str | Problem]:
        """What each record of the file (by the digest of its bytes) held last time: its
        article's key, or the problem that kept it from being read."""
        rows = self._db.execute(
            "SELECT digest, key, problem_origin, problem_reason FROM source_records"
            " WHERE origin=? AND file=?",
            (origin, file),
        )
        return {
            digest: key if key is not None else Problem(origin=where, reason=reason)
            for digest, key, where, reason in rows
        }

    def set_file_records(
        self,
        origin: str,
        file: str,
        records: dict[bytes, str | Problem],
        signature: tuple[int, int, str] | None,
        before: dict[bytes, str | Problem] | None = None,
    ) -> None:
        """Remember what a file held; with no signature (it could not be read whole) it is
        read again next time, though its records are still not parsed again. Given what it
        held ``before`` (``file_records``), only the records that changed are written: a
        refresh of a large archive rewrites a few rows, not one per article."""
        if before is None:
            gone, changed = None, records
        else:
            gone = [d for d, held in before.items() if records.get(d) != held]
            changed = {d: held for d, held in records.items() if before.get(d) != held}
        rows = [
            (origin, file, digest, None, held.origin, held.reason)
            if isinstance(held, Problem)
            else (origin, file, digest, held, None, None)
            for digest, held in changed.items()
        ]
        with self._transaction():
            if gone is None:
                self._db.execute(
                    "DELETE FROM source_records WHERE origin=? AND file=?", (origin, file)
                )
            else:
                self._db.executemany(
                    "DELETE FROM source_records WHERE origin=? AND file=? AND digest=?",
                    [(origin, file, digest) for digest in gone],
                )
            self._db.executemany("INSERT INTO source_records VALUES (?,?,?,?,?,?)", rows)
            self._db.execute("DELETE FROM source_files WHERE origin=? AND file=?", (origin, file))
            if signature is not None:
                self._db.execute(
                    "INSERT INTO source_files VALUES (?,?,?,?,?)", (origin, file, *signature)
                )

    def forget_files_except(self, origin: str, files: set[str]) -> None:
        """Files gone from a local source are forgotten (their articles leave with them)."""
        known = set(self.source_files(origin)) | {
            f
            for (f,) in self._db.execute(
                "SELECT DISTINCT file FROM source_records WHERE origin=?", (origin,)
            )
        }
        with self._transaction():
            for file in known - files:
                self._db.execute(
                    "DELETE FROM source_records WHERE origin=? AND file=?", (origin, file)
                )
                self._db.execute(
                    "DELETE FROM source_files WHERE origin=? AND file=?", (origin, file)
                )

    # ----- analysis ---------------------------------------------------------------------------

    def pending_analysis(self, fingerprint: str) -> Iterator[Article]:
        """Articles not analyzed this way yet. Their ids are read first and their texts a few
        hundred at a time, so a first run over an archive does not hold every text at once,
        and the analyses stored meanwhile do not disturb the reading."""
        ids = [
            row[0]
            for row in self._db.execute(
                # No ORDER BY: sorting by id would read every row; the covering index is enough.
                "SELECT id FROM articles WHERE analysis IS NULL OR analysis != ?",
                (fingerprint,),
            )
        ]
        for start in range(0, len(ids), READ_BATCH):
            chunk = ids[start : start + READ_BATCH]
            rows = self._db.execute(
                "SELECT id, url, title, text, source, published, authors, origin FROM articles"
                f" WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id",
                chunk,
            ).fetchall()
            for row in rows:
                yield Article(
                    id=row[0], url=row[1], title=row[2], text=row[3], source=row[4],
                    published=row[5], authors=tuple(json.loads(row[6])), via=row[7],
                )  # fmt: skip

    def count_pending(self, fingerprint: str) -> int:
        return int(
            self._db.execute(
                "SELECT COUNT(*) FROM articles WHERE analysis IS NULL OR analysis != ?",
                (fingerprint,),
            ).fetchone()[0]
        )

    def set_analyses(
        self, analyzed: Sequence[tuple[str, AnalyzedArticle]], fingerprint: str
    ) -> list[AnalyzedArticle]:
        """Store many articles' analyses in one transaction: all of them, or none. Returns
        them as stored (see ``put_analyzed``)."""
        with self._transaction():
            stored = self._write_analyses(analyzed)
            self._db.executemany(
                "UPDATE articles SET analysis=? WHERE id=?",
                [(fingerprint, article_id) for article_id, _ in analyzed],
            )
        return stored

    def _write_analyses(
        self, analyzed: Sequence[tuple[str, AnalyzedArticle]]
    ) -> list[AnalyzedArticle]:
        """The analyses written, with their ids into the store's vocabulary."""
        stored = [
            dataclasses.replace(
                article,
                ids=self._interned(article.vocab)[article.ids].astype(_INT32),
                vocab=self._vocab,
            )
            for _, article in analyzed
        ]
        self._db.executemany(
            "INSERT OR REPLACE INTO analyses VALUES (?,?,?,?,?)",
            [
                (
                    article_id,
                    article.text,
                    article.text_lengths.astype(_INT32).tobytes(),
                    article.term_counts.astype(_INT32).tobytes(),
                    article.ids.tobytes(),
                )
                for (article_id, _), article in zip(analyzed, stored, strict=True)
            ],
        )
        return stored

    def _interned(self, terms: Sequence[str]) -> np.ndarray:
        """The store's ids of ``terms``; new ones are added to the ``terms`` table in the
        caller's transaction."""
        vocab = self._vocabulary()
        term_id = self._term_id
        found = np.fromiter(
            map(term_id.get, terms, repeat(-1, len(terms))), dtype=np.int64, count=len(terms)
        )
        missing = np.flatnonzero(found < 0)
        if len(missing):
            new: list[tuple[int, str]] = []
            for i in missing.tolist():
                term = terms[i]
                number = term_id.get(term)
                if number is None:
                    number = term_id[term] = len(vocab)
                    vocab.append(term)
                    new.append((number, term))
                found[i] = number
            self._db.executemany("INSERT INTO terms VALUES (?, ?)", new)
        return found

    def _vocabulary(self) -> list[str]:
        """The ``terms`` table, kept in memory. Read again when it is not what this process
        last saw (a transaction that added terms was rolled back, or another process wrote)."""
        row = self._db.execute("SELECT MAX(id) FROM terms").fetchone()
        size = 0 if row[0] is None else int(row[0]) + 1
        if size != len(self._vocab):
            self._vocab = [t for (t,) in self._db.execute("SELECT term FROM terms ORDER BY id")]
            self._term_id = {term: i for i, term in enumerate(self._vocab)}
        return self._vocab

    def analyzed(self, fingerprint: str) -> Iterator[tuple[ArticleMeta, AnalyzedArticle]]:
        """Every analyzed article with its analysis, in a stable order. Every analysis shares
        one vocabulary (the store's), so a reader maps it once."""
        vocab = list(self._vocabulary())
        rows = self._db.execute(
            "SELECT a.id, a.url, a.title, a.source, a.published, a.authors, a.origin,"
            " n.texts, n.text_lengths, n.term_counts, n.terms"
            " FROM articles a JOIN analyses n ON n.article_id = a.id"
            " WHERE a.analysis=? ORDER BY a.id",
            (fingerprint,),
        )
        for row in rows:
            meta = ArticleMeta(
                id=row[0],
                url=row[1],
                title=row[2],
                source=row[3],
                published=row[4],
                authors=tuple(json.loads(row[5])),
                via=row[6],
            )
            yield (
                meta,
                AnalyzedArticle(
                    text=row[7],
                    text_lengths=np.frombuffer(row[8], dtype=_INT32),
                    term_counts=np.frombuffer(row[9], dtype=_INT32),
                    ids=np.frombuffer(row[10], dtype=_INT32),
                    vocab=vocab,
                ),
            )

    # ----- fetch state ------------------------------------------------------------------------

    def fetch_state(self, url: str) -> FetchState | None:
        row = self._db.execute("SELECT * FROM fetch_state WHERE url=?", (url,)).fetchone()
        if row is None:
            return None
        return FetchState(**dict(zip(_STATE_COLUMNS, row, strict=True)))

    def record_fetch(
        self,
        url: str,
        kind: str,
        *,
        error: str | None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        now = _now()
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO fetch_state (url, kind) VALUES (?, ?)", (url, kind)
            )
            if error is None:
                self._db.execute(
                    "UPDATE fetch_state SET kind=?, last_attempt=?, last_success=?, consecutive_failures=0,"
                    " last_error=NULL, etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified) WHERE url=?",
                    (kind, now, now, etag, last_modified, url),
                )
            else:
                self._db.execute(
                    "UPDATE fetch_state SET kind=?, last_attempt=?, consecutive_failures=consecutive_failures+1,"
                    " last_error=? WHERE url=?",
                    (kind, now, error, url),
                )

    def record_item_failure(self, url: str, origin: str, error: str) -> None:
        now = _now()
        with self._transaction():
            self._db.execute(
                "INSERT INTO item_failures VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT(url) DO UPDATE SET"
                " origin=excluded.origin, error=excluded.error, failures=failures+1,"
                " last_attempt=excluded.last_attempt",
                (url, origin, error, now, now),
            )

    def clear_item_failures(self, origin: str, keep: set[str] | None = None) -> None:
        """Forget the failures of ``origin``'s items, except those whose URL is in ``keep``."""
        with self._transaction():
            rows = self._db.execute(
                "SELECT url FROM item_failures WHERE origin=?", (origin,)
            ).fetchall()
            gone = [(url,) for (url,) in rows if keep is None or url not in keep]
            self._db.executemany("DELETE FROM item_failures WHERE url=?", gone)

    def clear_item_failure(self, url: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM item_failures WHERE url=?", (url,))

    def item_failures(self, origin: str) -> list[ItemFailure]:
        rows = self._db.execute(
            "SELECT url, origin, error, failures, first_failed, last_attempt FROM item_failures"
            " WHERE origin=? ORDER BY last_attempt DESC, url",
            (origin,),
        ).fetchall()
        names = ("url", "origin", "error", "failures", "first_failed", "last_attempt")
        return [ItemFailure(**dict(zip(names, row, strict=True))) for row in rows]

    def all_fetch_states(self) -> list[FetchState]:
        rows = self._db.execute("SELECT * FROM fetch_state ORDER BY url").fetchall()
        return [FetchState(**dict(zip(_STATE_COLUMNS, row, strict=True))) for row in rows]

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def batch(self) -> _Transaction:
        """One transaction around many changes (a folder's thousands of articles): committing
        each on its own costs a disk sync apiece. Changes inside join it; all land, or none."""
        return _Transaction(self._db)


_STATE_COLUMNS = (
    "url",
    "kind",
    "etag",
    "last_modified",
    "last_attempt",
    "last_success",
    "consecutive_failures",
    "last_error",
)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an error; inside another one it simply joins it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._outer = False

    def __enter__(self) -> None:
        self._outer = not self._db.in_transaction
        if self._outer:
            self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self._outer:
            self._db.execute("ROLLBACK" if exc_type else "COMMIT")
        # Inside another transaction, an error propagates and the outer one rolls it all back.


def _fields(article: Article) -> tuple[object, ...]:
    return (
        article.url,
        article.title,
        article.text,
        article.source,
        article.published.isoformat() if article.published else None,
        json.dumps(list(article.authors)),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()
