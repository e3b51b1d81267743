"""How each configured source is doing: articles held, last success, failures, last error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from index.ingest.store import ArticleStore
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

    @property
    def label(self) -> str:
        return self.name or self.location


def source_health(sources: Sequence[SourceRef], store_path: Path) -> list[SourceHealth]:
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
                )
            )
        return health
