"""How each configured source is doing: articles held, last success, failures, last error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from index.ingest.fetch import REFUSED, FetchConfig
from index.ingest.store import ArticleStore, FetchState, ItemFailure
from index.models import SourceRef


class SourceHealth(BaseModel):
    kind: str
    location: str
    name: str | None = None
    articles: int = 0
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    backoff_until: datetime | None = None
    failing_items: list[ItemFailure] = []

    @property
    def label(self) -> str:
        return self.name or self.location


def backoff_until(
    state: FetchState | None, fetch: FetchConfig, now: datetime | None = None
) -> datetime | None:
    """When a source that keeps failing may be tried again, or None when it may be tried now.

    The wait doubles with every failure in a row, from ``backoff_minutes`` up to
    ``backoff_max_hours``, so a dead feed is not hammered at every refresh. A source our own policy
    refused sent nothing to anyone, and the operator may just have allowed it: no wait.
    """
    if state is None or state.consecutive_failures == 0 or state.last_attempt is None:
        return None
    if (state.last_error or "").startswith(REFUSED):
        return None
    minutes = fetch.backoff_minutes * 2 ** min(state.consecutive_failures - 1, 30)
    wait = min(timedelta(minutes=minutes), timedelta(hours=fetch.backoff_max_hours))
    until = state.last_attempt + wait
    return until if until > (now or datetime.now(UTC)) else None


def source_health(
    sources: Sequence[SourceRef], store_path: Path, fetch: FetchConfig | None = None
) -> list[SourceHealth]:
    if not store_path.exists():
        return [SourceHealth(kind=s.kind, location=s.location, name=s.name) for s in sources]
    with ArticleStore(store_path) as store:
        counts = store.count_by_origin()
        health = []
        for source in sources:
            state = store.fetch_state(source.location) if source.kind != "path" else None
            health.append(
                SourceHealth(
                    kind=source.kind,
                    location=source.location,
                    name=source.name,
                    articles=counts.get(source.origin, 0),
                    last_success=state.last_success if state else None,
                    last_attempt=state.last_attempt if state else None,
                    consecutive_failures=state.consecutive_failures if state else 0,
                    last_error=state.last_error if state else None,
                    backoff_until=backoff_until(state, fetch or FetchConfig()),
                    failing_items=store.item_failures(source.origin),
                )
            )
        return health
