"""Making articles: raw fields from any loader become one cleaned ``Article``; duplicates meet here."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

from index.dates import parse_date
from index.ingest.clean import clean_line, clean_text, strip_dateline, strip_title_outlet
from index.ingest.urls import canonical_url
from index.models import Article, Problem


class RawArticle(BaseModel):
    """One article as a loader read it, before cleaning; also the schema of a JSONL line."""

    model_config = ConfigDict(extra="ignore")

    url: str | None = None
    title: str = ""
    text: str
    published: str | None = None
    source: str = ""
    authors: list[str] = []

    @field_validator("url", "published", "source", "title", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value is None else str(value)

    @field_validator("authors", mode="before")
    @classmethod
    def _authors_list(cls, value: object) -> object:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value


def to_article(
    raw: RawArticle, origin: str, fetched_at: datetime | None = None
) -> Article | Problem:
    """Clean one raw article into the model, or say why it cannot be one.

    A publication date after ``fetched_at`` (default: now) is clamped to it: an article dated
    9999-12-31 would otherwise be "the newest news" for ever.
    """
    url = raw.url.strip() if raw.url and raw.url.strip() else None
    source = clean_line(raw.source) or _host(url)
    text = strip_dateline(clean_text(raw.text), source)
    title = strip_title_outlet(clean_line(raw.title or ""), source)
    if not text:
        return Problem(
            origin=origin, reason="no article text after cleaning (empty or only page furniture)"
        )
    key = canonical_url(url) if url else "sha256:" + content_hash(text)
    return Article(
        id=hashlib.sha256(key.encode()).hexdigest()[:16],
        url=url,
        title=title or _first_words(text),
        text=text,
        source=source,
        published=_not_after(parse_date(raw.published), fetched_at or datetime.now(UTC)),
        authors=tuple(clean_line(a) for a in raw.authors if clean_line(a)),
        origin=origin,
    )


def _not_after(published: datetime | None, limit: datetime) -> datetime | None:
    return min(published, limit) if published is not None else None


def article_key(article: Article) -> str:
    """The identity used for deduplication: canonical URL, else a hash of the text."""
    return canonical_url(article.url) if article.url else "sha256:" + content_hash(article.text)


def article_identity(article: Article) -> tuple[str, str]:
    """The article's key and the hash of its words, computed once (the store needs both, and
    on a large archive they are worth computing in the worker processes)."""
    digest = content_hash(article.text)
    return (canonical_url(article.url) if article.url else "sha256:" + digest), digest


def content_hash(text: str) -> str:
    """Hash of the words only, so whitespace or case changes do not make a new article."""
    words = re.findall(r"\w+", text.casefold())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


class Deduplicator:
    """Keeps one article per canonical URL and per text; a newer version replaces an older one."""

    def __init__(self) -> None:
        self._by_key: dict[str, Article] = {}
        self._key_of_hash: dict[str, str] = {}

    def add(self, article: Article) -> bool:
        """Add an article; return False when it duplicates one already held."""
        digest = content_hash(article.text)
        key = canonical_url(article.url) if article.url else "sha256:" + digest
        existing_key = self._key_of_hash.get(digest)
        if existing_key is not None and existing_key != key:
            return False  # the same text under another URL
        old = self._by_key.get(key)
        if old is not None:
            if _is_newer(article, old):
                self._by_key[key] = article
                self._key_of_hash[digest] = key
            return False
        self._by_key[key] = article
        self._key_of_hash[digest] = key
        return True

    def articles(self) -> list[Article]:
        return list(self._by_key.values())


def _is_newer(candidate: Article, current: Article) -> bool:
    if candidate.published and current.published:
        return candidate.published > current.published
    return candidate.published is not None and current.published is None


def _first_words(text: str, count: int = 12) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def _host(url: str | None) -> str:
    if not url:
        return ""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")
