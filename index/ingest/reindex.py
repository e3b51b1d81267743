"""The whole refresh: collect from every source into the store, analyze what is new, rebuild the
index from the stored analyses, and swap it in. Reports what changed."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from index.errors import NewsbotError
from index.ingest import articles as articles_module
from index.ingest import clean as clean_module
from index.ingest import pages as pages_module
from index.ingest import sources as sources_module
from index.ingest.articles import article_identity
from index.ingest.chunking import ChunkingConfig
from index.ingest.feeds import FeedEntry, FeedError, parse_feed
from index.ingest.fetch import FEED_TYPES, PAGE_TYPES, FetchConfig, Fetcher, FetchResult
from index.ingest.health import backoff_until
from index.ingest.pages import extract_article
from index.ingest.sources import Record, SourceFile, parse_record, read_records, source_files
from index.ingest.store import ArticleStore, Change
from index.models import Article, ArticleMeta, Problem, SourceRef
from index.search import snapshot as snapshots
from index.search.analyzed import AnalyzedArticle
from index.search.analyzer import Analyzer, AnalyzerConfig
from index.search.bm25 import BM25Params
from index.search.build import (
    EmptyCorpusError,
    SnapshotBuilder,
    analysis_fingerprint,
    analyze_in_parallel,
    analyze_in_worker,
    article_ids,
    gone_with,
    init_analysis_worker,
    keeps_base,
    replace_articles,
)
from index.workers import map_in_batches


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
    # How the index changed: left as it was, patched with the changed articles, or rebuilt.
    index_update: Literal["unchanged", "patched", "rebuilt"] = "rebuilt"

    @property
    def added(self) -> int:
        return self.counts.new


PUT_BATCH = 2000  # articles stored per transaction when reading a folder or file
UNCHANGED_BATCH = 4096
# Up to this share of the live index's articles added, updated or removed, a refresh patches the
# live index; beyond it, a full rebuild from the stored analyses costs less.
PATCH_SHARE = 0.2


@functools.cache
def reader_version() -> str:
    """Changes whenever the code that parses and cleans local files changes, so that every
    record is then read again instead of being skipped as seen. (Computed on first use: every
    command imports this module, few read local sources.)"""
    digest = hashlib.sha256()
    for module in (sources_module, articles_module, clean_module, pages_module):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


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
    only: frozenset[str] | None = None,
    caps: dict[str, int] | None = None,
) -> ReindexReport:
    """Refresh the store from ``sources`` and rebuild the index at ``index_path`` from it.

    ``only``: the origins to read or fetch this time (one server's refresh); the other sources
    keep their stored articles. ``caps``: the most articles kept per origin, newest first.
    The previous index keeps serving until the new snapshot is complete and swapped in.
    """
    with refresh_lock(index_path):
        try:
            report = _reindex(
                sources, index_path, store_path, chunking, bm25, fetch, retention_days, progress,
                only, caps or {},
            )  # fmt: skip
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
    only: frozenset[str] | None,
    caps: dict[str, int],
) -> ReindexReport:
    started = time.perf_counter()
    chunking = chunking or ChunkingConfig()
    cutoff = datetime.now(UTC) - timedelta(days=retention_days) if retention_days > 0 else None
    # A whole build writes its passage texts here as it goes (see SnapshotBuilder's spill).
    with snapshots.scratch(index_path) as spill, ArticleStore(store_path) as store:
        # What the live snapshot must have been built from for this run to extend it: a run
        # killed after changing the store but before swapping in its snapshot leaves the store
        # ahead, and the next run must rebuild even if it fetches nothing new.
        generation_before = store.generation()
        tally = _Tally(progress)
        analyzer = Analyzer(AnalyzerConfig())
        bm25 = bm25 or BM25Params()
        reading = _Reading(analyzer, chunking, analysis_fingerprint(analyzer.config, chunking))
        live = _current_live(index_path, analyzer, chunking, bm25, generation_before)
        # A refresh that touches a few articles patches the live index with their analyses;
        # one that touches many (or the first) builds it whole from the store, cheaper then.
        fresh = _Fresh(PATCH_SHARE * live.manifest.counts.articles if live is not None else 0)
        if live is None and not store.count_analyzed(reading.fingerprint):
            fresh.builder = SnapshotBuilder(analyzer, chunking, bm25, spill)
        kept = {s.origin for s in sources}
        sources = [s for s in sources if only is None or s.origin in only]
        for source in sources:
            if source.kind == "path":
                token = _SOURCE.set(source.origin)
                try:
                    tally.removed += _collect_path(source, store, tally, reading, fresh)
                finally:
                    _SOURCE.reset(token)
        remote = [s for s in sources if s.kind != "path"]
        if remote:
            asyncio.run(_collect_remote(remote, store, fetch or FetchConfig(), tally, cutoff))
        tally.removed += store.remove_origins_except(kept)
        pruned = store.prune_older_than(cutoff) if cutoff else 0
        pruned += store.cap_origins(caps)
        fingerprint = reading.fingerprint
        _analyze_pending(store, reading, tally, fresh)
        analyzed = fresh.count
        tally.emit("indexing", 0, 1)
        snapshot = None
        update: Literal["unchanged", "patched", "rebuilt"] = "rebuilt"
        if live is not None and store.generation() == generation_before:
            snapshot, update = live, "unchanged"  # the live index stays; nothing is written
        elif fresh.builder is not None:
            snapshot = fresh.built(store.analyzed_ids(fingerprint))
        elif live is not None and not fresh.overflowed:
            snapshot = _patched(
                index_path, live, fresh.analyses, store.analyzed_ids(fingerprint), fresh.limit
            )
            update = "patched"
        if snapshot is None:
            snapshot, update = (
                _rebuilt(store, analyzer, chunking, bm25, fingerprint, tally, spill),
                "rebuilt",
            )
        tally.emit("indexing", 1, 1)
        if snapshot is not live:
            snapshot.manifest.store_generation = store.generation()
            store.close()  # the store is not needed to save, and others may be waiting on it
            snapshots.save(snapshot, index_path)
    return ReindexReport(
        articles=snapshot.live_articles,
        passages=snapshot.live_passages,
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
        index_update=update,
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

    def unchanged(self, n: int) -> None:
        """``n`` articles of a source that did not change and were not read again."""
        if not n:
            return
        self.counts.unchanged += n
        if source := _SOURCE.get():
            self.working_sources.add(source)
        self.total += n
        self.done += n
        self.emit("collecting", self.done, self.total)

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


def _collect_path(
    source: SourceRef, store: ArticleStore, tally: _Tally, reading: _Reading, fresh: _Fresh
) -> int:
    """Read a local file or folder into the store. A file unchanged since it was last read
    (size and mtime), or a line of a JSONL archive seen before (its bytes), is not parsed or
    cleaned again: a refresh of a large archive reads only what changed. Articles that
    disappeared from the source leave the store."""
    origin = source.origin
    files, problems = source_files(Path(source.location))
    for problem in problems:
        tally.fail(problem.origin, problem.reason)
    known = store.source_files(origin)
    present: set[str] = set()
    complete = not problems
    for file in files:
        name = str(file.path)
        signature = (*file.signature, reader_version())
        seen = store.file_records(origin, name)
        if known.get(name) == signature:
            keys = [held for held in seen.values() if not isinstance(held, Problem)]
            present.update(keys)
            tally.unchanged(len(keys))
            for held in seen.values():
                if isinstance(held, Problem):
                    tally.fail(held.origin, held.reason)  # still there: still reported
            continue
        held_now: dict[bytes, str | Problem] = {}
        whole, surprises = _read_file(file, seen, held_now, source, store, tally, reading, fresh)
        complete &= whole and not surprises
        present.update(h for h in held_now.values() if not isinstance(h, Problem))
        store.set_file_records(origin, name, held_now, signature if whole else None, seen)
    if not complete:
        # What failed to read (a folder without permission, a damaged file, a line that was
        # readable last time) may be what held the stored articles that look gone: keep them
        # until a clean read. A line that was already bad last time held nothing.
        return 0
    store.forget_files_except(origin, {str(f.path) for f in files})
    return store.remove_keys(store.keys_from(origin) - present)


def _read_file(
    file: SourceFile,
    seen: dict[bytes, str | Problem],
    held: dict[bytes, str | Problem],
    source: SourceRef,
    store: ArticleStore,
    tally: _Tally,
    reading: _Reading,
    fresh: _Fresh,
) -> tuple[bool, bool]:
    """Store the file's new and changed records, parsed and analyzed on every core in one
    pass, and note what every record holds in ``held``. Returns whether the file was read
    whole, and whether a record that was not bad before is bad now."""
    whole = True
    surprises = False
    digests: dict[int, bytes] = {}

    def unseen() -> Iterator[Record]:
        nonlocal whole
        same = 0  # unchanged records, counted in bulk: a progress event per line cost seconds
        for item in read_records(file):
            if same >= UNCHANGED_BATCH:
                tally.unchanged(same)
                same = 0
            if isinstance(item, Problem):
                tally.fail(item.origin, item.reason)
                whole = False
                continue
            # SHA-1 runs at twice blake2b's speed here (1.2 against 0.55 GB/s), and a digest
            # only tells a line seen before from a changed one: no adversary picks both.
            digest = hashlib.sha1(item.raw, usedforsecurity=False).digest()[:16]
            before = seen.get(digest)
            if isinstance(before, Problem):
                # The same bad record as last time: reported where it is now, not parsed again.
                held[digest] = Problem(origin=item.where, reason=before.reason)
                tally.fail(item.where, before.reason)
            elif before is not None:
                held[digest] = before
                same += 1
            else:
                digests[id(item)] = digest
                yield item
        tally.unchanged(same)

    batches = map_in_batches(
        _read_and_analyze,
        unseen(),
        batch=PUT_BATCH,
        initializer=init_analysis_worker,
        initargs=(reading.analyzer.config, reading.chunking),
    )
    for batch in batches:
        with store.batch():
            for record, (article, analyzed, identity) in batch:
                digest = digests.pop(id(record))
                if isinstance(article, Problem):
                    tally.fail(article.origin, article.reason)
                    held[digest] = article
                    surprises = True
                    continue
                assert analyzed is not None  # every readable article is analyzed
                if source.name and not article.source:
                    article = article.model_copy(update={"source": source.name})
                change, stored_id, analyzed = store.put_analyzed(
                    article, source.origin, analyzed, reading.fingerprint, identity
                )
                tally.count(change)
                held[digest] = identity[0]
                if change in (Change.NEW, Change.UPDATED):
                    fresh.add(
                        article.meta().model_copy(update={"id": stored_id, "via": source.origin}),
                        analyzed,
                    )
    return whole, surprises


def _read_and_analyze(
    record: Record,
) -> tuple[Article | Problem, AnalyzedArticle | None, tuple[str, str]]:
    """In a worker: a record parsed, cleaned, chunked and analyzed, with its identity."""
    article = parse_record(record)
    if isinstance(article, Problem):
        return article, None, ("", "")
    return article, analyze_in_worker(article), article_identity(article)


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


@dataclass
class _Reading:
    """How articles are analyzed in this run."""

    analyzer: Analyzer
    chunking: ChunkingConfig
    fingerprint: str


@dataclass
class _Fresh:
    """The analyses of the articles this run adds or changes. For a refresh, kept (up to
    ``limit``) to patch the live index with; past the limit the run rebuilds from the store and
    stops keeping them. For a first build, fed straight into ``builder``: the index is built as
    the archive is read, without reading every analysis back from the store."""

    limit: float
    builder: SnapshotBuilder | None = None
    count: int = 0
    analyses: list[tuple[ArticleMeta, AnalyzedArticle]] = field(default_factory=list)
    built_ids: list[str] = field(default_factory=list)
    overflowed: bool = False

    def add(self, meta: ArticleMeta, analyzed: AnalyzedArticle) -> None:
        self.count += 1
        if self.builder is not None:
            self.builder.add(meta, analyzed)
            self.built_ids.append(meta.id)
            return
        if self.overflowed:
            return
        if len(self.analyses) >= self.limit:
            self.overflowed = True
            self.analyses = []
            return
        self.analyses.append((meta, analyzed))

    def built(self, stored: set[str]) -> snapshots.Snapshot | None:
        """The first build, less what the store no longer holds as it was built (an article
        read twice keeps its last version; one removed later in the run goes)."""
        assert self.builder is not None
        if not self.builder.n_articles:
            return None
        last = {article_id: i for i, article_id in enumerate(self.built_ids)}
        dropped = [i for i, a in enumerate(self.built_ids) if a not in stored or last[a] != i]
        snapshot = self.builder.finish(weighed=not dropped)
        if dropped:
            snapshot = replace_articles(snapshot, dropped, [], mark=False)  # weighs what remains
        return snapshot if snapshot.manifest.counts.articles == len(stored) else None


def _analyze_pending(store: ArticleStore, reading: _Reading, tally: _Tally, fresh: _Fresh) -> None:
    """Chunk and analyze every stored article that still needs it (fetched ones, or all after
    the analyzer changed), on every core, storing each batch in one transaction (a crash keeps
    the batches before it)."""
    total = store.count_pending(reading.fingerprint)
    done = 0
    pending = store.pending_analysis(reading.fingerprint)
    for batch in analyze_in_parallel(pending, reading.analyzer, reading.chunking):
        stored = store.set_analyses(
            [(a.id, analyzed) for a, analyzed in batch], reading.fingerprint
        )
        for (article, _), analyzed in zip(batch, stored, strict=True):
            fresh.add(article.meta(), analyzed)
        done += len(batch)
        tally.emit("analyzing", done, total)


def _current_live(
    index_path: Path,
    analyzer: Analyzer,
    chunking: ChunkingConfig,
    bm25: BM25Params,
    generation: int,
) -> snapshots.Snapshot | None:
    """The live snapshot, if it was built from the store as it stood when this run began (so it
    holds exactly the stored articles) and the same way; else None, and the run rebuilds."""
    if not snapshots.exists(index_path):
        return None
    try:
        live = snapshots.load(index_path)
    except NewsbotError:
        return None
    m = live.manifest
    same_build = m.analyzer == analyzer.config and m.chunking == chunking and m.bm25 == bm25
    return live if same_build and m.store_generation == generation else None


def _patched(
    index_path: Path,
    live: snapshots.Snapshot,
    fresh: list[tuple[ArticleMeta, AnalyzedArticle]],
    stored: set[str],
    limit: float,
) -> snapshots.Snapshot | None:
    """The live snapshot less the articles the store no longer holds or holds a new version
    of, plus the fresh analyses; None when that is too many changes, or when the live files are
    damaged (patching copies them, so damage would be saved again)."""
    # The last analysis of each article still stored: one stored twice in a run (a JSONL
    # archive holding two versions) or removed after it was read counts once, or not at all.
    fresh = list({meta.id: (meta, p) for meta, p in fresh if meta.id in stored}.values())
    fresh_ids = {meta.id for meta, _ in fresh}
    was_gone = live.article_gone
    removed = [
        i
        for i, a in enumerate(article_ids(live))
        if (a not in stored or a in fresh_ids) and (was_gone is None or not was_gone[i])
    ]
    if len(removed) > limit:
        return None
    # Checked on a second thread while the patch is computed (hashing releases the GIL). The
    # text parts, and the postings' base when the patch is a tail, are linked into the patch,
    # not read or copied: their sizes suffice.
    with ThreadPoolExecutor(1) as checker:
        damaged = checker.submit(
            snapshots.verify,
            index_path,
            text_parts=False,
            base_postings=not keeps_base(live, gone_with(live, removed), fresh),
        )
        patched = replace_articles(live, removed, fresh)
        try:
            if damaged.result():
                return None
        except NewsbotError:
            return None
    # The patch must hold exactly the stored articles; if not, the store changed under an
    # assumption, and a rebuild is the safe answer.
    return patched if patched.live_articles == len(stored) else None


def _rebuilt(
    store: ArticleStore,
    analyzer: Analyzer,
    chunking: ChunkingConfig,
    bm25: BM25Params,
    fingerprint: str,
    tally: _Tally,
    spill: Path,
) -> snapshots.Snapshot:
    """A whole snapshot built from every stored analysis, streamed from the store."""
    builder = SnapshotBuilder(analyzer, chunking, bm25, spill)
    for meta, analyzed in store.analyzed(fingerprint):
        builder.add(meta, analyzed)
    try:
        return builder.finish()
    except EmptyCorpusError as exc:
        if not tally.problems:
            raise
        first = tally.problems[0]
        more = f" and {len(tally.problems) - 1} more problems" if len(tally.problems) > 1 else ""
        raise EmptyCorpusError(
            f"No article could be read: {first.origin}: {first.reason}{more}; fix the "
            "configured sources (a copied config.example.toml names folders you may not have)."
        ) from exc


def _entry_date(entry: FeedEntry) -> datetime | None:
    return entry.published or entry.updated
