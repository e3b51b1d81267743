"""The live index behind a long-running front end: answers from the current snapshot while at
most one reindex builds the next, then swaps it in."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from index.answer.answerer import AnswerConfig, Answerer
from index.answer.understanding import Conversation
from index.errors import IndexMissingError, NewsbotError
from index.ingest.health import SourceHealth
from index.ingest.reindex import RefreshProgress, ReindexReport
from index.models import Answer
from index.search import snapshot as snapshots
from index.search.searcher import SearchConfig, SearchFilters

# (progress, only): ``only`` narrows what is fetched to some sources' origins (one server's).
Rebuild = Callable[[RefreshProgress | None, frozenset[str] | None], ReindexReport]
log = logging.getLogger(__name__)


class ReindexRunningError(NewsbotError):
    """A reindex was asked for while another one is still running."""


class IndexStatus(BaseModel):
    articles: int
    passages: int
    per_source: dict[str, int]
    newest: datetime | None
    indexed_at: datetime
    sources: list[SourceHealth] = []


class NewsService:
    """Thread-safe: ``answer`` may run in many worker threads while ``reindex`` runs in another."""

    def __init__(
        self,
        index_path: Path,
        rebuild: Rebuild,
        answer_config: AnswerConfig | None = None,
        search_config: SearchConfig | None = None,
        health: Callable[[], list[SourceHealth]] | None = None,
    ) -> None:
        self.index_path = index_path
        self._health = health
        self._rebuild = rebuild
        self._answer_config = answer_config or AnswerConfig()
        self._search_config = search_config or SearchConfig()
        self._answerer: Answerer | None = None
        self._loaded_from: tuple[int, int] | None = None  # CURRENT's identity when loaded
        self._swap_lock = threading.Lock()
        self._reindex_lock = threading.Lock()
        self._reindex_started: float | None = None

    def load(self, keep_running: bool = False) -> None:
        """Load the index from disk, or build it first when there is none yet or another newsbot
        version wrote it (its sources are still configured, so nothing is lost).

        With ``keep_running`` (a long-running bot), a first build that fails is logged and the
        service starts without an index: questions get "not loaded yet, an admin can /reindex"
        instead of the process exiting and a service manager restarting it in a loop."""
        reason = snapshots.build_needed(self.index_path)
        if reason:
            log.warning(reason)
            try:
                self.reindex()
            except NewsbotError as exc:
                if not keep_running:
                    raise
                log.error("The first build failed, so there is no index yet: %s", exc)
            return
        snapshots.tidy(self.index_path)  # what a process that died left behind
        self._swap_in()

    def _swap_in(self) -> None:
        marker = _current_marker(self.index_path)
        self._answerer = Answerer.load(self.index_path, self._search_config, self._answer_config)
        self._loaded_from = marker

    def _follow_current(self) -> None:
        """Swap in a snapshot another process (cron, a shell) made live since this one loaded:
        one stat of CURRENT per question."""
        marker = _current_marker(self.index_path)
        if marker is None or marker == self._loaded_from or self._answerer is None:
            return
        with self._swap_lock:
            if marker == self._loaded_from:
                return
            try:
                self._swap_in()
                log.info("Swapped in the index another process rebuilt")
            except NewsbotError as exc:
                self._loaded_from = marker  # do not retry on every question
                log.warning("Kept the current index: the new one did not load (%s)", exc)

    @property
    def reindexing(self) -> bool:
        return self._reindex_lock.locked()

    def answer(
        self,
        question: str,
        filters: SearchFilters | None = None,
        conversation: Conversation | None = None,
        view: frozenset[str] | None = None,
    ) -> Answer:
        started = time.perf_counter()
        # One read of the answerer: a concurrent swap cannot mix two snapshots.
        answer = self._loaded().answer(question, filters, conversation, view)
        # One line per question, for operators: how long, and what came of it; never who asked.
        log.info(
            "question: %s in %.0f ms%s",
            answer.kind,
            (time.perf_counter() - started) * 1000,
            f" ({answer.refusal.value})" if answer.refusal else "",
        )
        return answer

    def brief(
        self, topic: str, filters: SearchFilters | None = None, view: frozenset[str] | None = None
    ) -> Answer:
        return self._loaded().brief(topic, filters, view)

    def precheck(
        self,
        question: str,
        filters: SearchFilters | None = None,
        view: frozenset[str] | None = None,
    ) -> None:
        self._loaded().precheck(question, filters, view)

    def outlets(
        self, typed: str = "", limit: int = 25, view: frozenset[str] | None = None
    ) -> list[str]:
        return self._loaded().searcher.outlets(typed, limit, view)

    def _loaded(self) -> Answerer:
        self._follow_current()
        answerer = self._answerer
        if answerer is None:
            raise IndexMissingError(
                "The news index is not loaded yet; an admin can build it with /reindex."
            )
        return answerer

    def reindex(
        self, progress: RefreshProgress | None = None, only: frozenset[str] | None = None
    ) -> ReindexReport:
        """Rebuild and swap in the new index; refuses at once if a rebuild is already running.
        ``only``: refresh just these sources (the others keep what they hold)."""
        if not self._reindex_lock.acquire(blocking=False):
            started = time.monotonic() - (self._reindex_started or time.monotonic())
            raise ReindexRunningError(
                f"A reindex is already running (started {started:.0f} s ago); "
                "questions are answered from the current index until it finishes."
            )
        try:
            self._reindex_started = time.monotonic()
            report = self._rebuild(progress, only)
            with self._swap_lock:
                self._swap_in()
            c = report.counts
            log.info(
                "reindex: %d articles, %d passages (%d new, %d updated, %d removed, %d failed) in %.1f s",
                report.articles, report.passages, c.new, c.updated, report.removed, c.failed, report.seconds,
            )  # fmt: skip
            return report
        finally:
            self._reindex_started = None
            self._reindex_lock.release()

    def status(self, view: frozenset[str] | None = None) -> IndexStatus:
        """The index as ``view`` sees it (one server's sources), or whole."""
        answerer = self._loaded()
        snap = answerer.searcher.snapshot
        visible = answerer.searcher.visible(view)
        counts = np.bincount(snap.article_source[visible], minlength=len(snap.sources))
        names = answerer.searcher.display_sources()
        per_source = {
            names[i]: int(n) for i, n in sorted(enumerate(counts), key=lambda x: -x[1]) if n
        }
        published = snap.article_published[visible]
        dated = published[~np.isnan(published)]
        health = self._health() if self._health else []
        if view is not None:
            health = [h for h in health if f"{h.kind}:{h.location}" in view]
        return IndexStatus(
            articles=int(visible.sum()),
            passages=int(visible[snap.passage_article].sum()),
            per_source=per_source,
            newest=datetime.fromtimestamp(float(dated.max()), UTC) if len(dated) else None,
            indexed_at=snap.manifest.created_at,
            sources=health,
        )


def _current_marker(index_path: Path) -> tuple[int, int] | None:
    """CURRENT's inode and change time: a swap replaces the file, so either changes."""
    try:
        stat = (index_path / "CURRENT").stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns
