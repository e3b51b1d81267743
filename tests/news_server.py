"""A real HTTP server on 127.0.0.1 serving feeds and pages that the tests write.

It records every request, honours ETag and Last-Modified with 304s, and can stall a response
until the test releases it, redirect, or serve any status and content type.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

# This server lives on a loopback address and a random port, both of which newsbot refuses to
# fetch by default; tests that fetch from it allow them as an operator would for an internal feed.
LOOPBACK_ALLOW: dict[str, object] = {
    "allow_private": ["127.0.0.1", "::1"],
    "allow_ports": ["1024-65535"],
    "host_delay": 0.0,
}


def loopback_fetch_toml(**extra: object) -> str:
    """A ``[fetch]`` table allowing this server, with ``extra`` settings, for a test's config."""
    import json

    values = {**LOOPBACK_ALLOW, **extra}
    return "[fetch]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None
    stall: bool = False
    drip: bool = False  # headers, then one byte at a time until the test releases the server
    headers: dict[str, str] = field(default_factory=dict)
    # Answers in turn; after the last one, the route's own answer. For 429s before a success.
    first: list[tuple[int, dict[str, str]]] = field(default_factory=list)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0  # time.monotonic() when it arrived


class NewsServer:
    """Serves on 127.0.0.1, or on ``host`` (another loopback address such as 127.0.0.2 or ::1)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.release = threading.Event()
        self._seen = threading.Condition()
        self.host = host
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        self._server = server_class((host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> NewsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def add(self, path: str, body: str | bytes = b"", **options: object) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def wait_for_request(self, path: str, timeout: float = 30.0) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: bool(self.hits(path)), timeout)

    def clear(self) -> None:
        self.requests.clear()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                with server._seen:
                    server.requests.append(
                        Request("GET", self.path, dict(self.headers.items()), time.monotonic())
                    )
                    server._seen.notify_all()
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self._reply(404, b"not found", "text/plain")
                    return
                if route.stall:
                    server.release.wait(120)
                    return
                if route.first:
                    status, headers = route.first.pop(0)
                    self._reply(status, b"busy", "text/plain", headers)
                    return
                if route.drip:
                    self._drip(route)
                    return
                if route.location:
                    self.send_response(
                        route.status if route.status in (301, 302, 307, 308) else 302
                    )
                    self.send_header("Location", route.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                    route.last_modified
                    and self.headers.get("If-Modified-Since") == route.last_modified
                ):
                    self.send_response(304)
                    self.end_headers()
                    return
                extra = dict(route.headers)
                if route.etag:
                    extra["ETag"] = route.etag
                if route.last_modified:
                    extra["Last-Modified"] = route.last_modified
                self._reply(route.status, route.body, route.content_type, extra)

            def _drip(self, route: Route) -> None:
                # Each byte comes well within any read timeout, so only an overall deadline ends it.
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.end_headers()  # no length: the body runs until the connection closes
                try:
                    while not server.release.wait(0.05):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                except OSError:
                    pass  # the client gave up, as it should

            def _reply(
                self,
                status: int,
                body: bytes,
                content_type: str,
                extra: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def rss(title: str, items: list[dict[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{i['title']}</title><link>{escape(i['link'])}</link><guid>{escape(i.get('guid', i['link']))}</guid>"
        f"<pubDate>{i.get('date', 'Mon, 15 Jan 2024 10:00:00 GMT')}</pubDate>"
        f"<author>{i.get('author', 'desk@example.test (News Desk)')}</author>"
        f"<description>{i.get('summary', '')}</description></item>"
        for i in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>http://example.test/</link><description>d</description>{entries}</channel></rss>'


def atom(title: str, entries: list[dict[str, str]]) -> str:
    body = "".join(
        f'<entry><title>{e["title"]}</title><link href="{e["link"]}"/><id>{e.get("id", e["link"])}</id>'
        f"<updated>{e.get('updated', '2024-01-16T09:00:00Z')}</updated><author><name>{e.get('author', 'A. Writer')}</name></author></entry>"
        for e in entries
    )
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title><id>urn:x</id><updated>2024-01-16T09:00:00Z</updated>{body}</feed>'


def article_page(
    title: str,
    paragraphs: list[str],
    *,
    canonical: str | None = None,
    date: str | None = None,
    site: str | None = None,
) -> str:
    meta = ""
    if canonical:
        meta += f'<link rel="canonical" href="{canonical}">'
    if date:
        meta += f'<meta property="article:published_time" content="{date}">'
    if site:
        meta += f'<meta property="og:site_name" content="{site}">'
    paras = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title>{meta}</head><body>"
        '<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/subscribe">Subscribe for $1 a week</a></nav>'
        f"<main><article><h1>{title}</h1>{paras}</article></main>"
        '<footer><p>Copyright 2024 Example Media. All rights reserved.</p><a href="/privacy">Privacy policy</a> <a href="/cookies">Cookie settings</a></footer>'
        "</body></html>"
    )


HARBOUR = "The harbour reopened to ships on Friday after a week of storms."


def harbour_feed(
    server: NewsServer, feed_path: str = "/feed.rss", page_path: str = "/p"
) -> tuple[str, str]:
    """One article page and an RSS feed pointing at it: (page URL, feed URL)."""
    page = server.add(page_path, article_page("Harbour reopens", [HARBOUR]))
    feed = server.add(
        feed_path,
        rss("Coast News", [{"title": "Harbour reopens", "link": page}]),
        content_type="application/rss+xml",
    )
    return page, feed
