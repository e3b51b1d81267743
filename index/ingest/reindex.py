"""The whole refresh: collect from every source into the store, analyze what is new, rebuild the
index from the stored analyses, and swap it in. Reports what changed."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from index.errors import NewsbotError
from index.ingest.articles import article_key
from index.ingest.chunking import ChunkingConfig
from index.ingest.feeds import FeedEntry, FeedError, parse_feed
from index.ingest.fetch import FEED_TYPES, PAGE_TYPES, FetchConfig, Fetcher, FetchResult
from index.ingest.health import backoff_until
from index.ingest.pages import extract_article
from index.ingest.sources import load_sources
from index.ingest.store import ArticleStore, Change
from index.models import ArticleMeta, Problem, SourceRef
from index.search import snapshot as snapshots
from index.search.analyzer import Analyzer, AnalyzerConfig
from index.search.bm25 import BM25Params
from index.search.build import (
    AnalyzedPassage,
    EmptyCorpusError,
    SnapshotBuilder,
    analysis_fingerprint,
    analyze_in_parallel,
    extend_snapshot,
)


class RefreshCounts(BaseModel):
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    failed: int = 0


class ProgressEvent(BaseModel):
    stage: str  # "collecting", "analyzing" or "indexing"
    done: int
    total: int
    counts: RefreshCounts


RefreshProgress = Callable[[ProgressEvent], None]


class ReindexReport(BaseModel):
    articles: int
    passages: int
    sources: int = 0
    failed_sources: list[str] = []  # sources with at least one problem
    working_sources: int = 0  # sources that brought at least one article (or a 304)
    counts: RefreshCounts
    removed: int
    pruned: int
    analyzed: int
    problems: list[Problem]
    seconds: float
    index_path: Path

    @property
    def added(self) -> int:
        return self.counts.new


PUT_BATCH = 2000  # articles stored per transaction when reading a folder or file

# The source being collected, so that a problem found deep in a feed is charged to its source.
_SOURCE: ContextVar[str | None] = ContextVar("newsbot_source", default=None)


def reindex(
    sources: Sequence[SourceRef],
    index_path: Path,
    *,
    store_path: Path,
    chunking: ChunkingConfig | None = None,
    bm25: BM25Params | None = None,
    fetch: FetchConfig | None = None,
    retention_days: int = 0,
    progress: RefreshProgress | None = None,
) -> ReindexReport:
    """Refresh the store from ``sources`` and rebuild the index at ``index_path`` from it.

    The previous index keeps serving until the new snapshot is complete and swapped in.
    """
    with refresh_lock(index_path):
        try:
            report = _reindex(
                sources, index_path, store_path, chunking, bm25, fetch, retention_days, progress
            )
        except NewsbotError as exc:
            _record_outcome(index_path, LastReindex(at=datetime.now(UTC), ok=False, error=str(exc)))
            raise
        _record_outcome(
            index_path,
            LastReindex(
                at=datetime.now(UTC),
                ok=not report.failed_sources,
                articles=report.articles,
                seconds=round(report.seconds, 1),
                failed_sources=report.failed_sources,
            ),
        )
        return report


class LastReindex(BaseModel):
    """How the last reindex ended, for ``newsbot status`` and monitoring."""

    at: datetime
    ok: bool
    articles: int = 0
    seconds: float = 0.0
    failed_sources: list[str] = []
    error: str | None = None


def last_reindex(index_path: Path) -> LastReindex | None:
    try:
        return LastReindex.model_validate_json(_outcome_path(index_path).read_bytes())
    except (OSError, ValueError):
        return None


def _outcome_path(index_path: Path) -> Path:
    return index_path.with_name(index_path.name + ".last-reindex.json")


def _record_outcome(index_path: Path, outcome: LastReindex) -> None:
    path = _outcome_path(index_path)
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(outcome.model_dump_json(), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a record for monitoring must never fail the refresh itself


class ReindexLockedError(NewsbotError):
    """Another process is refreshing the same index."""


@contextlib.contextmanager
def refresh_lock(index_path: Path) -> Iterator[None]:
    """One refresh of an index at a time across every process (cron, the bot, a shell): an
    exclusive lock on a file beside the index, released by the kernel if the holder dies."""
    lock_path = index_path.with_name(index_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ReindexLockedError(
                f"Another reindex of {index_path} is running ({holder}); questions are answered "
                "from the current index, and this one can run when it finishes."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reindex(
    sources: Sequence[SourceRef],
    index_path: Path,
    store_path: Path,
    chunking: ChunkingConfig | None,
    bm25: BM25Params | None,
    fetch: FetchConfig | None,
    retention_days: int,
    progress: RefreshProgress | None,
) -> ReindexReport:
    started = time.perf_counter()
    chunking = chunking or ChunkingConfig()
    cutoff = datetime.now(UTC) - timedelta(days=retention_days) if retention_days > 0 else None
    with ArticleStore(store_path) as store:
        # What the live snapshot must have been built from for this run to extend it: a run
        # killed after changing the store but before swapping in its snapshot leaves the store
        # ahead, and the next run must rebuild even if it fetches nothing new.
        generation_before = store.generation()
        tally = _Tally(progress)
        for source in sources:
            if source.kind == "path":
                token = _SOURCE.set(source.origin)
                try:
                    tally.removed += _collect_path(source, store, tally)
                finally:
                    _SOURCE.reset(token)
        remote = [s for s in sources if s.kind != "path"]
        if remote:
            asyncio.run(_collect_remote(remote, store, fetch or FetchConfig(), tally, cutoff))
        tally.removed += store.remove_origins_except({s.origin for s in sources})
        pruned = store.prune_older_than(cutoff) if cutoff else 0
        analyzer = Analyzer(AnalyzerConfig())
        fingerprint = analysis_fingerprint(analyzer.config, chunking)
        fresh = _analyze_pending(store, analyzer, chunking, fingerprint, tally)
        analyzed = len(fresh)
        bm25 = bm25 or BM25Params()
        tally.emit("indexing", 0, 1)
        live = None
        if tally.counts.updated == 0 and tally.removed == 0 and pruned == 0:
            live = _live_to_extend(
                index_path,
                analyzer,
                chunking,
                bm25,
                store.count_analyzed(fingerprint) - len(fresh),
                generation_before,
            )
        if live is not None:
            # Only additions: extend the live index; nothing it holds is re-read or re-analyzed.
            snapshot = extend_snapshot(live, fresh)
        else:
            builder = SnapshotBuilder(analyzer, chunking, bm25)
            for meta, passages in store.analyzed(fingerprint):
                builder.add(meta, ((p.text, p.terms) for p in passages))
            try:
                snapshot = builder.finish()
            except EmptyCorpusError as exc:
                if not tally.problems:
                    raise
                first = tally.problems[0]
                more = (
                    f" and {len(tally.problems) - 1} more problems"
                    if len(tally.problems) > 1
                    else ""
                )
                raise EmptyCorpusError(
                    f"No article could be read: {first.origin}: {first.reason}{more}; fix the "
                    "configured sources (a copied config.example.toml names folders you may not have)."
                ) from exc
        snapshot.manifest.store_generation = store.generation()
        tally.emit("indexing", 1, 1)
    snapshots.save(snapshot, index_path)
    return ReindexReport(
        articles=snapshot.manifest.counts.articles,
        passages=snapshot.manifest.counts.passages,
        sources=len(sources),
        failed_sources=sorted(tally.failed_sources),
        working_sources=len(tally.working_sources),
        counts=tally.counts,
        removed=tally.removed,
        pruned=pruned,
        analyzed=analyzed,
        problems=tally.problems,
        seconds=time.perf_counter() - started,
        index_path=index_path,
    )


@dataclass
class _Tally:
    progress: RefreshProgress | None
    counts: RefreshCounts = field(default_factory=RefreshCounts)
    problems: list[Problem] = field(default_factory=list)
    failed_sources: set[str] = field(default_factory=set)
    working_sources: set[str] = field(default_factory=set)  # brought at least one article
    removed: int = 0
    total: int = 0
    done: int = 0

    def expect(self, n: int) -> None:
        self.total += n
        self.emit("collecting", self.done, self.total)

    def count(self, change: Change) -> None:
        name = {
            Change.NEW: "new",
            Change.UPDATED: "updated",
            Change.UNCHANGED: "unchanged",
            Change.DUPLICATE: "duplicates",
        }[change]
        setattr(self.counts, name, getattr(self.counts, name) + 1)
        if source := _SOURCE.get():
            self.working_sources.add(source)
        self._step()

    def fail(self, origin: str, reason: str) -> None:
        self.problems.append(Problem(origin=origin, reason=reason))
        self.counts.failed += 1
        self.failed_sources.add(_SOURCE.get() or origin)
        self._step()

    def _step(self) -> None:
        self.done += 1
        self.emit("collecting", self.done, max(self.total, self.done))

    def emit(self, stage: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(
                ProgressEvent(stage=stage, done=done, total=total, counts=self.counts.model_copy())
            )


def _collect_path(source: SourceRef, store: ArticleStore, tally: _Tally) -> int:
    """Load a local file or folder; articles that disappeared from it leave the store."""
    loaded = load_sources([Path(source.location)])
    tally.expect(len(loaded.articles) + len(loaded.problems))
    for problem in loaded.problems:
        tally.fail(problem.origin, problem.reason)
    present = set()
    for start in range(0, len(loaded.articles), PUT_BATCH):
        with store.batch():
            for article in loaded.articles[start : start + PUT_BATCH]:
                if source.name and not article.source:
                    article = article.model_copy(update={"source": source.name})
                tally.count(store.put(article, source.origin))
                present.add(article_key(article))
    if loaded.problems:
        # Whatever failed to read (a folder without permission, a damaged file) may be what
        # held the stored articles that look gone: keep them until a clean read.
        return 0
    return store.remove_keys(store.keys_from(source.origin) - present)


async def _collect_remote(
    sources: Sequence[SourceRef],
    store: ArticleStore,
    fetch: FetchConfig,
    tally: _Tally,
    cutoff: datetime | None,
) -> None:
    tally.expect(len(sources))
    deadline = asyncio.get_running_loop().time() + fetch.refresh_timeout

    async def bounded(source: SourceRef) -> None:
        """One source, cut off at the refresh's deadline; what it stored by then is kept."""
        _SOURCE.set(source.origin)  # this task's own context: its problems are this source's
        state = store.fetch_state(source.location)
        wait = backoff_until(state, fetch)
        if state is not None and wait is not None:
            tally.fail(
                source.location,
                f"skipped after {state.consecutive_failures} failures in a row "
                f"(last: {state.last_error}); next try after {wait:%Y-%m-%d %H:%M} UTC",
            )
            return
        try:
            async with asyncio.timeout_at(deadline):
                if source.kind == "feed":
                    await _collect_feed(source, store, fetcher, tally, cutoff)
                else:
                    await _collect_page(source, store, fetcher, tally)
        except TimeoutError:
            reason = (
                f"not finished within the refresh's {fetch.refresh_timeout:g} s "
                "([fetch] refresh_timeout); what it had brought in is kept"
            )
            store.record_fetch(source.location, source.kind, error=reason)
            tally.fail(source.location, reason)

    async with Fetcher(fetch) as fetcher:
        await asyncio.gather(*(bounded(s) for s in sources))


async def _fetch_conditionally(
    url: str,
    accept: frozenset[str],
    store: ArticleStore,
    fetcher: Fetcher,
    *,
    robots: bool = False,
) -> FetchResult:
    """GET with the ETag and Last-Modified of the last success, so unchanged costs one 304."""
    state = store.fetch_state(url)
    return await fetcher.fetch(
        url,
        accept=accept,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
        robots=robots,
    )


async def _collect_feed(
    source: SourceRef, store: ArticleStore, fetcher: Fetcher, tally: _Tally, cutoff: datetime | None
) -> None:
    url = source.location
    result = await _fetch_conditionally(url, FEED_TYPES, store, fetcher)
    if not result.ok:
        store.record_fetch(url, "feed", error=result.error)
        tally.fail(url, result.error or "failed")
        return
    if result.not_modified:
        store.record_fetch(url, "feed", error=None)
        tally.count(Change.UNCHANGED)  # one 304 stands for every entry the feed still has
        return
    tally.counts.fetched += 1
    try:
        feed = parse_feed(result.body, result.final_url, result.content_type)
    except FeedError as exc:
        store.record_fetch(url, "feed", error=str(exc))
        tally.fail(url, str(exc))
        return
    store.record_fetch(
        url, "feed", error=None, etag=result.etag, last_modified=result.last_modified
    )
    if feed.warning:
        tally.problems.append(Problem(origin=url, reason=feed.warning))
    tally.count(Change.UNCHANGED)  # the feed itself
    entries = [
        e for e in feed.entries if not (cutoff and _entry_date(e) and _entry_date(e) < cutoff)
    ]
    tally.expect(len(entries))
    outlet = source.name or feed.title
    # Failures of items the feed no longer lists are history, not problems.
    store.clear_item_failures(source.origin, keep={e.link for e in feed.entries})
    await asyncio.gather(
        *(_collect_entry(e, source, outlet, store, fetcher, tally) for e in entries)
    )


async def _collect_entry(
    entry: FeedEntry,
    source: SourceRef,
    outlet: str,
    store: ArticleStore,
    fetcher: Fetcher,
    tally: _Tally,
) -> None:
    entry_key = f"{entry.entry_id}|{(entry.updated or entry.published or '')}"
    if store.has_entry(entry_key):
        tally.count(Change.UNCHANGED)  # known in this version: no page fetch at all
        return
    result = await fetcher.fetch(entry.link, accept=PAGE_TYPES, robots=True)
    if result.ok:
        tally.counts.fetched += 1
    article = (
        extract_article(result.body, entry.link, url=result.final_url, entry=entry, outlet=outlet)
        if result.ok
        else Problem(origin=entry.link, reason=result.error or "failed")
    )
    if isinstance(article, Problem):
        store.record_item_failure(entry.link, source.origin, article.reason)
        tally.fail(article.origin, article.reason)
        return
    store.clear_item_failure(entry.link)
    tally.count(store.put(article, source.origin, entry_key))


async def _collect_page(
    source: SourceRef, store: ArticleStore, fetcher: Fetcher, tally: _Tally
) -> None:
    url = source.location
    result = await _fetch_conditionally(url, PAGE_TYPES, store, fetcher, robots=True)
    if result.ok and result.not_modified:
        store.record_fetch(url, "url", error=None)
        tally.count(Change.UNCHANGED)
        return
    article = (
        extract_article(result.body, url, url=result.final_url, outlet=source.name or "")
        if result.ok
        else Problem(origin=url, reason=result.error or "failed")
    )
    if isinstance(article, Problem):
        store.record_fetch(url, "url", error=article.reason)
        tally.fail(url, article.reason)
        return
    tally.counts.fetched += 1
    store.record_fetch(url, "url", error=None, etag=result.etag, last_modified=result.last_modified)
    tally.count(store.put(article, source.origin))


def _analyze_pending(
    store: ArticleStore,
    analyzer: Analyzer,
    chunking: ChunkingConfig,
    fingerprint: str,
    tally: _Tally,
) -> list[tuple[ArticleMeta, list[AnalyzedPassage]]]:
    """Chunk and analyze every article that needs it, on every core, storing each batch in one
    transaction (a crash keeps the batches before it)."""
    pending = list(store.pending_analysis(fingerprint))
    done: list[tuple[ArticleMeta, list[AnalyzedPassage]]] = []
    for batch in analyze_in_parallel(pending, analyzer, chunking):
        store.set_passages_many([(a.id, passages) for a, passages in batch], fingerprint)
        done += [(a.meta(), passages) for a, passages in batch]
        tally.emit("analyzing", len(done), len(pending))
    return done


def _live_to_extend(
    index_path: Path,
    analyzer: Analyzer,
    chunking: ChunkingConfig,
    bm25: BM25Params,
    expected_articles: int,
    generation: int,
) -> snapshots.Snapshot | None:
    """The live snapshot, if it was built from the store as it stood when this run began (so it
    holds exactly the stored articles) and the same way."""
    if not snapshots.exists(index_path):
        return None
    try:
        live = snapshots.load(index_path)
        # Extending copies the live files: damage in them would be saved again.
        if snapshots.verify(index_path):
            return None
    except NewsbotError:
        return None
    m = live.manifest
    same_build = m.analyzer == analyzer.config and m.chunking == chunking and m.bm25 == bm25
    current = m.store_generation == generation and m.counts.articles == expected_articles
    return live if same_build and current else None


def _entry_date(entry: FeedEntry) -> datetime | None:
    return entry.published or entry.updated
