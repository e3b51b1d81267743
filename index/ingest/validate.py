"""A source someone types into Discord is tried once before it is saved.

It is fetched through the same fetcher as a refresh (so the destination policy, deadlines and size
caps hold), and it must read as a feed with entries, or as an article page. Whatever fails is one
sentence that says why, for the admin who typed it.
"""

from __future__ import annotations

import asyncio

from index.ingest.feeds import FeedError, parse_feed
from index.ingest.fetch import FEED_TYPES, PAGE_TYPES, FetchConfig, Fetcher
from index.ingest.pages import extract_article
from index.models import Problem, SourceRef


async def _try(ref: SourceRef, config: FetchConfig) -> str | None:
    async with Fetcher(config) as fetcher:
        feed = ref.kind == "feed"
        result = await fetcher.fetch(
            ref.location, accept=FEED_TYPES if feed else PAGE_TYPES, robots=not feed
        )
    if not result.ok:
        return result.error or "it could not be fetched"
    if feed:
        try:
            parsed = parse_feed(result.body, result.final_url, result.content_type)
        except FeedError as exc:
            return str(exc)
        return None if parsed.entries else "the feed lists no articles"
    page = extract_article(result.body, ref.location, url=result.final_url)
    return page.reason if isinstance(page, Problem) else None


def source_problem(ref: SourceRef, config: FetchConfig) -> str | None:
    """Why ``ref`` cannot be followed, in words, or None when it reads as it should."""
    if ref.kind not in ("feed", "url"):
        return "only feeds and article URLs can be added from Discord"
    return asyncio.run(_try(ref, config))
