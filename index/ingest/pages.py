"""Article pages: main text and metadata extracted from HTML with trafilatura."""

from __future__ import annotations

from urllib.parse import urlsplit

from index.ingest.articles import RawArticle, to_article
from index.ingest.feeds import FeedEntry
from index.models import Article, Problem

# Fewer words than this is navigation or a stub ("Home", "Loading…"), not an article.
MIN_ARTICLE_WORDS = 8


def extract_article(
    html: str | bytes,
    origin: str,
    *,
    url: str | None = None,
    entry: FeedEntry | None = None,
    outlet: str = "",
) -> Article | Problem:
    """The article in an HTML page; fields the page lacks come from its feed entry, if any.

    ``url`` is where the page was fetched from; the page's own ``<link rel=canonical>`` wins.
    Bytes are decoded by trafilatura from the page's declared or detected charset.
    """
    import trafilatura  # slow to import, and only HTML sources need it

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        favor_precision=True,
        # Only dates the page states; the extensive search takes a footer's "© 2024" for one.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = (doc.text or "") if doc is not None else ""
    if len(text.split()) < MIN_ARTICLE_WORDS:
        return Problem(origin=origin, reason="no article text found in the HTML page")
    lines = text.split("\n")
    if doc.title and lines and lines[0].strip() == doc.title.strip():
        lines = lines[1:]  # trafilatura repeats the headline as the first line
    fallback = entry or FeedEntry(link=url or "")
    raw = RawArticle(
        url=_canonical(doc.url, url) or fallback.link or None,
        title=doc.title or fallback.title,
        text="\n\n".join(lines),
        published=doc.date or _iso(fallback.published or fallback.updated),
        source=_site_name(doc.sitename, doc.url or url) or outlet,
        authors=[a.strip() for a in (doc.author or fallback.author or "").split(";")],
    )
    return to_article(raw, origin)


def _canonical(declared: str | None, fetched: str | None) -> str | None:
    # trafilatura reports <link rel=canonical> (or og:url) when the page has one, else the URL we
    # gave it; only an absolute http(s) URL is trusted as the canonical address.
    if declared and declared.startswith(("http://", "https://")):
        return declared
    return fetched


def _site_name(name: str | None, url: str | None) -> str:
    """The page's own outlet name; trafilatura's stand-in of the bare host name does not count."""
    if not name:
        return ""
    host = urlsplit(url or "").netloc.lower()
    return "" if name.lower() in {host, host.removeprefix("www.")} else name


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]
