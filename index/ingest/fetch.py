"""Polite, bounded HTTP fetching for feeds and article pages.

Every fetch is limited: a destination policy on every hop (``destinations.py``), per-host and
overall concurrency, a delay between requests to one host, connect and read timeouts and an
overall deadline per request, a body size cap, a redirect limit, and a content-type check. Pages
honour robots.txt; 429 and 503 answers honour Retry-After. Failures never raise out of ``fetch``:
they come back as a ``FetchResult`` with a reason, so one bad source cannot stop the rest.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from index import __version__
from index.ingest.destinations import (
    DestinationPolicy,
    DestinationRefused,
    parse_network,
    parse_ports,
)
from index.ingest.robots import (
    ROBOTS_MAX_BYTES,
    SHARED_ROBOTS,
    RobotsCache,
    RobotsRules,
    robots_url,
    rules_from,
)

if TYPE_CHECKING:
    import aiohttp
    from aiohttp.abc import AbstractResolver

USER_AGENT = f"newsbot/{__version__} (+https://github.com/newsbot; a news question-answering bot)"
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
     "text/xml", "application/feed+json", "text/plain", "application/x-rss+xml",
     "text/html"}  # some servers label feeds text/html; the parser tells a page from a feed
)  # fmt: skip
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({429, 503})
# Opens the error of a request the policy or robots.txt stopped before anything was sent.
REFUSED = "refused: "
_RETRIES = 2
# A site's Crawl-delay is honoured up to this; a larger one would stall a whole refresh.
MAX_CRAWL_DELAY = 30.0


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
    request_timeout: float = Field(
        default=60.0, gt=0, description="seconds one request may take in all, however it trickles"
    )
    refresh_timeout: float = Field(
        default=900.0,
        gt=0,
        description="seconds a refresh may spend fetching; late sources are reported",
    )
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=16, ge=1, le=256, description="fetches in flight overall")
    per_host: int = Field(default=2, ge=1, le=32, description="fetches in flight per host")
    host_delay: float = Field(
        default=1.0, ge=0, description="seconds between the starts of two requests to one host"
    )
    max_retry_after: float = Field(
        default=60.0, ge=0, description="longest Retry-After (429, 503) waited for before retrying"
    )
    robots_ttl: float = Field(default=600.0, ge=0, description="seconds robots.txt is cached")
    backoff_minutes: float = Field(
        default=5.0,
        ge=0,
        description="wait after a feed's first failure, doubled after each next one",
    )
    backoff_max_hours: float = Field(default=6.0, ge=0, description="longest wait between tries")
    allow_private: list[str] = Field(
        default_factory=list,
        description="hosts or networks fetched although not public (internal feeds)",
    )
    allow_ports: list[int | str] = Field(
        default_factory=list,
        description="ports fetched besides 80 and 443, e.g. 8080 or '8000-8999'",
    )
    user_agent: str = USER_AGENT

    @field_validator("allow_private")
    @classmethod
    def _hosts_or_networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            text = entry.strip()
            if parse_network(text) is None and (
                not text or "/" in text or ":" in text or " " in text
            ):
                raise ValueError(f"{entry!r} is neither a host name nor a network like 10.1.2.0/24")
        return entries

    @field_validator("allow_ports")
    @classmethod
    def _ports(cls, entries: list[int | str]) -> list[int | str]:
        parse_ports(entries)
        return entries

    def policy(self) -> DestinationPolicy:
        return DestinationPolicy.from_settings(self.allow_private, self.allow_ports)


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
    refused: bool = False  # the destination policy or robots.txt refused it; no request was sent

    @property
    def ok(self) -> bool:
        return self.error is None


class Fetcher:
    """One per refresh; use as ``async with Fetcher(config) as f: await f.fetch(...)``.

    ``resolver`` replaces the system's DNS (tests use it to make a name resolve anywhere); the
    destination policy is applied to whatever it returns.
    """

    def __init__(
        self,
        config: FetchConfig | None = None,
        *,
        resolver: AbstractResolver | None = None,
        robots: RobotsCache | None = None,
    ) -> None:
        self.config = config or FetchConfig()
        self.policy = self.config.policy()
        self._resolver = resolver
        self._robots = robots if robots is not None else SHARED_ROBOTS
        self._overall = asyncio.Semaphore(self.config.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.config.per_host)
        )
        self._next_start: dict[str, float] = {}
        self._crawl_delay: dict[str, float] = {}
        self._robots_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        # Imported here: aiohttp takes a quarter of a second to import, and every command
        # imports this module for FetchConfig; only a refresh that fetches needs it.
        import aiohttp

        from index.ingest.resolver import PolicyResolver

        timeout = aiohttp.ClientTimeout(
            sock_connect=self.config.connect_timeout, sock_read=self.config.read_timeout
        )
        connector = aiohttp.TCPConnector(
            resolver=PolicyResolver(self.policy, self._resolver),
            socket_factory=self.policy.guard_socket,
            limit=self.config.concurrency,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate"},
            # The cookie jar would let one site's cookies follow us around; we need none.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Proxies from the environment would move the connection past the policy's checks.
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(
        self,
        url: str,
        *,
        accept: Collection[str] | None,
        etag: str | None = None,
        last_modified: str | None = None,
        robots: bool = False,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url`` following redirects by hand, so every hop is checked and counted.

        ``accept`` None takes any content type; ``robots`` checks the site's robots.txt first
        (on every hop, since a redirect may lead to another site).
        """
        result = FetchResult(url=url, final_url=url)
        headers = {"Accept": ", ".join(sorted(accept or ["*/*"])) + ", */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, seen = url, {url}
        for _ in range(self.config.max_redirects + 1):
            try:
                destination = self.policy.check_url(current)
            except DestinationRefused as exc:
                return result.model_copy(
                    update={"final_url": current, "error": f"{REFUSED}{exc}", "refused": True}
                )
            current = destination.url
            if robots and not (await self._robots_rules(current)).allows(current):
                return result.model_copy(
                    update={
                        "final_url": current,
                        "error": f"robots.txt of {destination.host} does not allow newsbot to fetch this page",
                        "refused": True,
                    }
                )
            hop = await self._request(
                _Request(current, destination.host, headers, accept, max_bytes)
            )
            if hop.error or hop.status not in _REDIRECTS or not hop.location:
                return hop.model_copy(update={"url": url})
            current = urljoin(current, hop.location)
            if current in seen:
                return result.model_copy(update={"final_url": current, "error": "redirect loop"})
            seen.add(current)
        return result.model_copy(
            update={
                "final_url": current,
                "error": f"more than {self.config.max_redirects} redirects",
            }
        )

    async def _request(self, request: _Request) -> _Hop:
        """One request, retried when a 429 or 503 says when to come back."""
        for attempt in range(_RETRIES + 1):
            hop = await self._one_request(request)
            if hop.status not in _RETRY_STATUSES:
                return hop
            wait = retry_after_seconds(hop.retry_after)
            if wait is None:
                return hop
            if attempt == _RETRIES or wait > self.config.max_retry_after:
                hop.error = f"{hop.error}; the server asked to retry after {wait:.0f} s"
                return hop
            self._hold(request.host, wait)  # every request to this host waits, not only this one
        return hop

    async def _one_request(self, request: _Request) -> _Hop:
        import aiohttp  # loaded by __aenter__ already (see there)

        hop = _Hop(url=request.url, final_url=request.url)
        limit = self.config.request_timeout
        async with self._hosts[request.host]:
            await self._polite_wait(request.host)
            async with self._overall:
                # The read timeout restarts with every byte; only this deadline caps a server
                # that drips its answer one byte at a time.
                deadline = asyncio.timeout(limit)
                try:
                    async with deadline:
                        return await self._get(request)
                except TimeoutError:
                    hop.error = (
                        f"no complete answer within {limit:g} s ([fetch] request_timeout)"
                        if deadline.expired()
                        else "timed out waiting for the server"
                    )
                except aiohttp.ClientConnectorError as exc:
                    refusal = _refusal(exc)
                    hop.error = (
                        f"{REFUSED}{refusal}" if refusal else f"connection failed ({_brief(exc)})"
                    )
                    hop.refused = refusal is not None
                except DestinationRefused as exc:
                    hop.error, hop.refused = f"{REFUSED}{exc}", True
                except aiohttp.ClientError as exc:
                    hop.error = f"connection failed ({_brief(exc)})"
        return hop

    async def _polite_wait(self, host: str) -> None:
        """Space the starts of requests to one host by the configured (or Crawl-delay) delay."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next_start.get(host, now))
        delay = max(self.config.host_delay, self._crawl_delay.get(host, 0.0))
        self._next_start[host] = start + delay
        if start > now:
            await asyncio.sleep(start - now)

    def _hold(self, host: str, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._next_start[host] = max(self._next_start.get(host, 0.0), loop.time() + seconds)

    async def _robots_rules(self, url: str) -> RobotsRules:
        site = robots_url(url)
        async with self._robots_locks[site]:  # one fetch of robots.txt per site, however many pages
            rules = self._robots.get(site)
            if rules is None:
                answer = await self.fetch(site, accept=None, max_bytes=ROBOTS_MAX_BYTES)
                if answer.refused:
                    rules = rules_from(0, None)
                else:
                    status = answer.status or 0
                    if answer.error and 200 <= status < 300:
                        status = 0  # a cut or unreadable answer is no answer
                    rules = rules_from(status, answer.body or b"" if status else None)
                self._robots.put(site, rules, self.config.robots_ttl)
            delay = rules.crawl_delay()
            host = (urlsplit(url).hostname or "").lower()
            if delay:
                self._crawl_delay[host] = min(delay, MAX_CRAWL_DELAY)
            return rules

    async def _get(self, request: _Request) -> _Hop:
        assert self._session is not None, "use Fetcher as an async context manager"
        url, accept = request.url, request.accept
        limit = request.max_bytes or self.config.max_bytes
        async with self._session.get(
            url, headers=request.headers, allow_redirects=False
        ) as response:
            hop = _Hop(
                url=url,
                final_url=url,
                status=response.status,
                location=response.headers.get("Location"),
                retry_after=response.headers.get("Retry-After"),
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
            if accept is not None and hop.content_type and hop.content_type not in accept:
                hop.error = f"unexpected content type {hop.content_type}"
                return hop
            declared = response.content_length
            if declared is not None and declared > limit:
                hop.error = f"body of {declared:,} bytes is over the {limit:,}-byte limit"
                return hop
            body = bytearray()
            async for chunk in response.content.iter_chunked(65536):
                body += chunk
                if len(body) > limit:
                    hop.error = f"body over the {limit:,}-byte limit; fetch cut"
                    return hop
            hop.body = bytes(body)
            if not hop.body.strip():
                hop.error = "empty response body"
            return hop


@dataclass(frozen=True)
class _Request:
    url: str
    host: str
    headers: dict[str, str]
    accept: Collection[str] | None
    max_bytes: int | None


class _Hop(FetchResult):
    model_config = ConfigDict(validate_assignment=False)

    location: str | None = None
    retry_after: str | None = None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _refusal(exc: aiohttp.ClientConnectorError) -> str | None:
    """The policy's reason, when the policy is what stopped the connection."""
    cause: BaseException | None = exc.os_error
    while cause is not None:
        if isinstance(cause, DestinationRefused):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    marker = "is not fetched; to fetch it"
    return text[text.find("(") + 1 :].rstrip(")]") if marker in text else None


def _brief(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
