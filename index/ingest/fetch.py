"""Polite, bounded HTTP fetching for feeds and article pages.

Every fetch is limited: per-host and overall concurrency, connect and read timeouts, a body size
cap, a redirect limit, http(s) only, and a content-type check. Failures never raise out of
``fetch``: they come back as a ``FetchResult`` with a reason, so one bad source cannot stop the rest.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Collection
from urllib.parse import urljoin, urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from index import __version__

USER_AGENT = f"newsbot/{__version__} (+https://github.com/newsbot; a news question-answering bot)"
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
     "text/xml", "application/feed+json", "text/plain", "application/x-rss+xml",
     "text/html"}  # some servers label feeds text/html; the parser tells a page from a feed
)  # fmt: skip
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchConfig(BaseModel):
    """Limits for fetching feeds and pages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout: float = Field(default=10.0, gt=0, description="seconds to open a connection")
    read_timeout: float = Field(
        default=20.0, gt=0, description="seconds of silence before giving up on a response"
    )
    max_bytes: int = Field(
        default=5_000_000,
        ge=1024,
        description="largest body read; past it the fetch is cut and reported",
    )
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=16, ge=1, le=256, description="fetches in flight overall")
    per_host: int = Field(default=2, ge=1, le=32, description="fetches in flight per host")
    user_agent: str = USER_AGENT


class FetchResult(BaseModel):
    url: str
    final_url: str
    status: int = 0
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Fetcher:
    """One per refresh; use as ``async with Fetcher(config) as f: await f.fetch(...)``."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        self.config = config or FetchConfig()
        self._overall = asyncio.Semaphore(self.config.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.config.per_host)
        )
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        timeout = aiohttp.ClientTimeout(
            sock_connect=self.config.connect_timeout, sock_read=self.config.read_timeout
        )
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate"},
            # The cookie jar would let one site's cookies follow us around; we need none.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(
        self,
        url: str,
        *,
        accept: Collection[str],
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET ``url`` following redirects by hand, so every hop is checked and counted."""
        result = FetchResult(url=url, final_url=url)
        headers = {"Accept": ", ".join(sorted(accept)) + ", */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, seen = url, {url}
        for _ in range(self.config.max_redirects + 1):
            problem = _scheme_problem(current)
            if problem:
                return result.model_copy(update={"final_url": current, "error": problem})
            try:
                async with self._slot(current):
                    hop = await self._get(current, headers, accept)
            except TimeoutError:
                return result.model_copy(
                    update={"final_url": current, "error": "timed out waiting for the server"}
                )
            except aiohttp.ClientError as exc:
                return result.model_copy(
                    update={"final_url": current, "error": f"connection failed ({_brief(exc)})"}
                )
            if hop.status in _REDIRECTS and hop.location:
                current = urljoin(current, hop.location)
                if current in seen:
                    return result.model_copy(
                        update={"final_url": current, "error": "redirect loop"}
                    )
                seen.add(current)
                continue
            return hop.model_copy(update={"url": url})
        return result.model_copy(
            update={
                "final_url": current,
                "error": f"more than {self.config.max_redirects} redirects",
            }
        )

    def _slot(self, url: str) -> _Slots:
        host = (urlsplit(url).hostname or "").lower()
        return _Slots(self._overall, self._hosts[host])

    async def _get(self, url: str, headers: dict[str, str], accept: Collection[str]) -> _Hop:
        assert self._session is not None, "use Fetcher as an async context manager"
        async with self._session.get(url, headers=headers, allow_redirects=False) as response:
            hop = _Hop(
                url=url,
                final_url=url,
                status=response.status,
                location=response.headers.get("Location"),
            )
            hop.etag = response.headers.get("ETag")
            hop.last_modified = response.headers.get("Last-Modified")
            hop.content_type = (response.content_type or "").lower()
            if response.status in _REDIRECTS:
                return hop
            if response.status == 304:
                hop.not_modified = True
                return hop
            if response.status >= 400:
                hop.error = f"HTTP {response.status} {response.reason or ''}".strip()
                return hop
            if hop.content_type and hop.content_type not in accept:
                hop.error = f"unexpected content type {hop.content_type}"
                return hop
            declared = response.content_length
            if declared is not None and declared > self.config.max_bytes:
                hop.error = (
                    f"body of {declared:,} bytes is over the {self.config.max_bytes:,}-byte limit"
                )
                return hop
            body = bytearray()
            async for chunk in response.content.iter_chunked(65536):
                body += chunk
                if len(body) > self.config.max_bytes:
                    hop.error = f"body over the {self.config.max_bytes:,}-byte limit; fetch cut"
                    return hop
            hop.body = bytes(body)
            if not hop.body.strip():
                hop.error = "empty response body"
            return hop


class _Hop(FetchResult):
    model_config = ConfigDict(validate_assignment=False)

    location: str | None = None


class _Slots:
    """Hold the overall and the per-host semaphore together."""

    def __init__(self, overall: asyncio.Semaphore, host: asyncio.Semaphore) -> None:
        self._overall, self._host = overall, host

    async def __aenter__(self) -> None:
        await self._host.acquire()
        try:
            await self._overall.acquire()
        except BaseException:
            self._host.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._overall.release()
        self._host.release()


def _scheme_problem(url: str) -> str | None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        return f"only http and https URLs are fetched, not {scheme or 'a URL without a scheme'}"
    return None


def _brief(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
