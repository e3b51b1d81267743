"""A source someone types into Discord is tried once before it is saved.

It is fetched through the same fetcher as a refresh (so the destination policy, deadlines and size
caps hold), and it must read as a feed with entries, or as an article page. Whatever fails is one
sentence that says why, for the admin who typed it.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from index.ingest.feeds import FeedError, parse_feed
from index.ingest.fetch import FEED_TYPES, PAGE_TYPES, FetchConfig, Fetcher
from index.ingest.pages import extract_article
from index.models import Problem, SourceRef


class SourceCheck(BaseModel):
    problem: str | None = None  # why it cannot be followed, in words
    title: str = ""  # the feed's or the page's own name, to call it by


async def _try(ref: SourceRef, config: FetchConfig) -> SourceCheck:
    async with Fetcher(config) as fetcher:
        feed = ref.kind == "feed"
        result = await fetcher.fetch(
            ref.location, accept=FEED_TYPES if feed else PAGE_TYPES, robots=not feed
        )
    if not result.ok:
        return SourceCheck(problem=result.error or "it could not be fetched")
    if feed:
        try:
            parsed = parse_feed(result.body, result.final_url, result.content_type)
        except FeedError as exc:
            return SourceCheck(problem=str(exc))
        if not parsed.entries:
            return SourceCheck(problem="the feed lists no articles")
        return SourceCheck(title=parsed.title or "")
    page = extract_article(result.body, ref.location, url=result.final_url)
    if isinstance(page, Problem):
        return SourceCheck(problem=page.reason)
    return SourceCheck(title=page.source or page.title)


def check_source(ref: SourceRef, config: FetchConfig) -> SourceCheck:
    """Whether ``ref`` reads as a feed with entries or an article page, through the fetch
    policy, and what it calls itself."""
    if ref.kind not in ("feed", "url"):
        return SourceCheck(problem="only feeds and article URLs can be added from Discord")
    return asyncio.run(_try(ref, config))
