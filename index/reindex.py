"""The whole refresh: load sources, build a snapshot, swap it in, and report what changed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from index import snapshot as snapshots
from index.bm25 import BM25Params
from index.build import Progress, build_snapshot
from index.chunking import ChunkingConfig
from index.errors import NewsbotError
from index.models import Problem
from index.sources import load_sources


class ReindexReport(BaseModel):
    articles: int
    passages: int
    added: int
    removed: int
    duplicates: int
    problems: list[Problem]
    seconds: float
    index_path: Path


def reindex(
    sources: Sequence[Path],
    index_path: Path,
    *,
    chunking: ChunkingConfig | None = None,
    bm25: BM25Params | None = None,
    progress: Progress | None = None,
) -> ReindexReport:
    """Rebuild the index at ``index_path`` from ``sources``; the old index serves until the swap."""
    started = time.perf_counter()
    loaded = load_sources(sources)
    snapshot = build_snapshot(loaded.articles, chunking=chunking, bm25=bm25, progress=progress)
    before = _previous_ids(index_path)
    snapshots.save(snapshot, index_path)
    after = {a.id for a in snapshot.articles}
    return ReindexReport(
        articles=len(snapshot.articles),
        passages=len(snapshot.passages),
        added=len(after - before),
        removed=len(before - after),
        duplicates=loaded.duplicates,
        problems=loaded.problems,
        seconds=time.perf_counter() - started,
        index_path=index_path,
    )


def _previous_ids(index_path: Path) -> set[str]:
    if not snapshots.exists(index_path):
        return set()
    try:
        return {a.id for a in snapshots.read_articles(index_path)}
    except NewsbotError:
        return set()  # a damaged old index is being replaced; count everything as added
