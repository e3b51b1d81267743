"""RSS 0.9x/1.0/2.0 and Atom feeds, parsed with feedparser into plain entries."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from index.ingest.clean import clean_line

if TYPE_CHECKING:
    import feedparser


class FeedEntry(BaseModel):
    link: str
    title: str = ""
    summary: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str = ""
    entry_id: str = ""


class ParsedFeed(BaseModel):
    title: str = ""
    entries: list[FeedEntry] = []
    warning: str | None = None


class FeedError(ValueError):
    """The body is not a feed we can read."""


def parse_feed(body: bytes, url: str, content_type: str = "application/xml") -> ParsedFeed:
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    if body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise FeedError("not an RSS or Atom feed (got an HTML page)")
    import feedparser  # here: only a refresh with feeds pays for importing it

    parsed = feedparser.parse(body, response_headers=headers)
    if not parsed.entries:
        if parsed.get("bozo"):
            raise FeedError(f"not a valid RSS or Atom feed ({_reason(parsed)})")
        if not parsed.get("version"):
            kind = (
                "an HTML page"
                if body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
                else "no feed"
            )
            raise FeedError(f"not an RSS or Atom feed (got {kind})")
    entries = [entry for raw in parsed.entries if (entry := _entry(raw)) is not None]
    if not entries and parsed.get("bozo"):
        raise FeedError(f"not a valid RSS or Atom feed ({_reason(parsed)})")
    warning = (
        f"malformed feed ({_reason(parsed)}); {len(entries)} entries recovered"
        if parsed.get("bozo")
        else None
    )
    return ParsedFeed(
        title=clean_line(parsed.feed.get("title", "")), entries=entries, warning=warning
    )


def _entry(raw: feedparser.FeedParserDict) -> FeedEntry | None:
    link = (raw.get("link") or "").strip()
    if not link:
        return None
    return FeedEntry(
        link=link,
        title=clean_line(raw.get("title", "")),
        summary=raw.get("summary", "") or "",
        # dict.get, not raw.get: feedparser maps a missing published date to the updated one,
        # with a deprecation warning, and we want to know which of the two the feed gave.
        published=_time(dict.get(raw, "published_parsed")),
        updated=_time(dict.get(raw, "updated_parsed")),
        author=clean_line(raw.get("author", "") or ""),
        entry_id=(raw.get("id") or link).strip(),
    )


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None


def _reason(parsed: feedparser.FeedParserDict) -> str:
    exc = parsed.get("bozo_exception")
    return (str(exc).splitlines()[0][:120] if exc else "unreadable XML") or type(exc).__name__
