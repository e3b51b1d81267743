"""No feed or page can make newsbot fetch from the machine or its network (server-side request forgery).

Internal servers run on 127.0.0.1 and [::1] and record every request. Every spelling and redirect
chain below is tried with the default policy; not one request may reach them. Non-loopback private
addresses are never connected to at all: names resolve through a fake DNS (the only fake here),
and the policy refuses the address at the resolver or at the socket, before any connection.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from index.ingest.destinations import DestinationPolicy, DestinationRefused, non_public_kind
from index.ingest.fetch import PAGE_TYPES, FetchConfig, Fetcher, FetchResult
from index.ingest.reindex import reindex
from index.models import SourceRef
from tests.news_server import NewsServer, article_page, rss

SECRET = "The internal payroll run happens every Monday at dawn, says the intranet."
# Random test ports are allowed throughout, so that every refusal below is about the address.
PORTS = ["1024-65535"]


class FakeDNS(AbstractResolver):
    """Names resolve to the addresses the test says; no real lookup is made."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"{host} does not resolve")
        return [
            ResolveResult(
                hostname=host,
                host=a,
                port=port,
                family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in self.table[host]
        ]

    async def close(self) -> None:
        pass


def fetch_all(
    urls: list[str], config: FetchConfig, dns: FakeDNS | None = None
) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with Fetcher(config, resolver=dns) as fetcher:
            return [await fetcher.fetch(u, accept=PAGE_TYPES) for u in urls]

    return asyncio.run(run())


@pytest.fixture
def internal() -> NewsServer:
    with NewsServer() as server:
        server.add("/internal", article_page("Payroll", [SECRET]))
        yield server


@pytest.fixture
def internal6() -> NewsServer:
    with NewsServer("::1") as server:
        server.add("/internal", article_page("Payroll", [SECRET]))
        yield server


@pytest.fixture
def public() -> NewsServer:
    """Stands for a public site: on 127.0.0.2, which the tests allow explicitly."""
    with NewsServer("127.0.0.2") as server:
        yield server


def spellings(p: int, p6: int) -> list[str]:
    """Ways to write the internal servers' addresses; every one must be refused."""
    return [
        f"http://127.0.0.1:{p}/internal",
        f"http://localhost:{p}/internal",
        f"http://LOCALHOST.:{p}/internal",
        f"http://ｌｏｃａｌｈｏｓｔ:{p}/internal",  # full-width letters map to "localhost"
        f"http://foo.localhost:{p}/internal",
        f"http://public.example@127.0.0.1:{p}/internal",
        f"http://public.example:pw@127.0.0.1:{p}/internal",
        f"http://2130706433:{p}/internal",
        f"http://0177.0.0.1:{p}/internal",
        f"http://0x7f.0.0.1:{p}/internal",
        f"http://0x7f000001:{p}/internal",
        f"http://127.1:{p}/internal",
        f"http://127.0.1:{p}/internal",
        f"http://127.000.000.001:{p}/internal",
        f"http://127.0.0.1.:{p}/internal",
        f"http://0.0.0.0:{p}/internal",
        f"http://0:{p}/internal",
        f"http://[::ffff:127.0.0.1]:{p}/internal",
        f"http://[::ffff:7f00:1]:{p}/internal",
        f"http://[::1]:{p6}/internal",
        f"http://[0:0:0:0:0:0:0:1]:{p6}/internal",
        f"http://[::]:{p6}/internal",
        f"https://127.0.0.1:{p}/internal",
        f"HTTP://127.0.0.1:{p}/internal",
        f"http://rebind.test:{p}/internal",  # a public-looking name whose DNS points inside
        f"http://rebind6.test:{p6}/internal",
        f"http://mixed.test:{p}/internal",  # one public and one loopback address
        f"ftp://127.0.0.1:{p}/internal",
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{p}/internal",
    ]


def inside_dns() -> FakeDNS:
    return FakeDNS(
        {
            "rebind.test": ["127.0.0.1"],
            "rebind6.test": ["::1"],
            "mixed.test": ["127.0.0.1"],
            "public.test": ["127.0.0.2"],
        }
    )


def test_no_spelling_of_an_internal_address_reaches_it(
    internal: NewsServer, internal6: NewsServer
) -> None:
    urls = spellings(internal.port, internal6.port)
    assert len(urls) >= 20
    results = fetch_all(urls, FetchConfig(allow_ports=PORTS, host_delay=0), inside_dns())
    for url, result in zip(urls, results, strict=True):
        assert result.error and result.refused, f"{url} was not refused: {result}"
        assert SECRET.encode() not in result.body
    assert internal.requests == [] and internal6.requests == []


def test_no_redirect_chain_reaches_an_internal_address(
    internal: NewsServer, internal6: NewsServer, public: NewsServer
) -> None:
    p, p6 = internal.port, internal6.port
    targets = {
        "/r/302": (302, f"http://127.0.0.1:{p}/internal"),
        "/r/307": (307, f"http://localhost:{p}/internal"),
        "/r/301": (301, f"http://2130706433:{p}/internal"),
        "/r/308": (308, f"http://[::1]:{p6}/internal"),
        "/r/userinfo": (302, f"http://public.example@127.0.0.1:{p}/internal"),
        "/r/rebind": (302, f"http://rebind.test:{p}/internal"),
        "/r/mapped": (307, f"http://[::ffff:127.0.0.1]:{p}/internal"),
        "/r/metadata": (302, "http://169.254.169.254/latest/meta-data/"),
        "/r/scheme": (302, "file:///etc/passwd"),
    }
    for path, (status, location) in targets.items():
        public.add(path, status=status, location=location)
    # A chain: two hops on the public site, then inside.
    public.add("/r/chain1", status=302, location=public.url("/r/chain2"))
    public.add("/r/chain2", status=307, location="/r/302")
    urls = [public.url(path) for path in [*targets, "/r/chain1"]]
    config = FetchConfig(allow_private=["127.0.0.2"], allow_ports=PORTS, host_delay=0)
    results = fetch_all(urls, config, inside_dns())
    for url, result in zip(urls, results, strict=True):
        assert result.refused, f"{url} was not refused: {result}"
    assert internal.requests == [] and internal6.requests == []
    assert len(public.requests) == len(urls) + 2  # the public site did answer every hop


def test_the_allowlist_lets_exactly_the_listed_destination_through(
    internal: NewsServer, internal6: NewsServer
) -> None:
    p, p6 = internal.port, internal6.port
    config = FetchConfig(
        allow_private=["127.0.0.1/32", "intranet.test"], allow_ports=[p], host_delay=0
    )
    dns = FakeDNS({"intranet.test": ["::1"]})
    ok, by_name, other_port, v6 = fetch_all(
        [
            f"http://127.0.0.1:{p}/internal",
            f"http://intranet.test:{p}/internal",
            f"http://[::1]:{p6}/internal",
            f"http://localhost:{p}/internal",
        ],
        config,
        dns,
    )
    assert ok.ok and SECRET.encode() in ok.body
    assert len(internal.requests) == 1
    assert by_name.error and "connection failed" in by_name.error  # allowed, but ::1:p is closed
    assert other_port.refused and "[fetch] allow_ports" in (other_port.error or "")
    assert v6.refused and "[fetch] allow_private" in (v6.error or "")
    assert internal6.requests == []


@pytest.mark.parametrize(
    ("name", "address", "kind"),
    [
        ("intranet.test", "10.1.2.3", "private"),
        ("office.test", "172.16.5.4", "private"),
        ("home.test", "192.168.1.1", "private"),
        ("metadata.test", "169.254.169.254", "link-local"),
        ("cgnat.test", "100.64.0.1", "carrier-grade NAT"),
        ("multicast.test", "224.0.0.1", "multicast"),
        ("reserved.test", "240.0.0.1", "reserved"),
        ("ula.test", "fd00::1", "private"),
        ("linklocal6.test", "fe80::1", "link-local"),
        ("mapped.test", "::ffff:10.0.0.1", "IPv6-wrapped private"),
        ("nat64.test", "64:ff9b::a00:1", "IPv6-wrapped private"),
    ],
)
def test_private_addresses_are_refused_at_the_resolver_before_connecting(
    name: str, address: str, kind: str
) -> None:
    dns = FakeDNS({name: [address]})
    [result] = fetch_all([f"http://{name}/feed"], FetchConfig(host_delay=0), dns)
    assert dns.asked == [name]
    assert result.refused
    assert f"{name} resolves to" in (result.error or "") and f"a {kind} address" in (
        result.error or ""
    )


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "169.254.169.254", "100.64.0.1", "fd00::1", "::ffff:192.168.0.1"]
)
def test_private_addresses_are_refused_at_the_socket(address: str) -> None:
    """The last gate: the address about to be connected to, whatever resolved it."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    policy = DestinationPolicy.from_settings()
    with pytest.raises(DestinationRefused, match="is not fetched"):
        policy.guard_socket((family, socket.SOCK_STREAM, 6, "", (address, 80)))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.1.2.3/feed", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://metadata.google.internal/computeMetadata/v1/", "internal host name"),
        ("http://printer.local/", "internal host name"),
        ("http://intranet/", "without a domain"),
        ("http://example.com:8080/", "[fetch] allow_ports"),
        ("http://user:pw@example.com/", "user name or password"),
    ],
)
def test_literal_private_destinations_are_refused_before_any_lookup(url: str, why: str) -> None:
    dns = FakeDNS({})
    [result] = fetch_all([url], FetchConfig(host_delay=0), dns)
    assert result.refused and why in (result.error or "")
    assert dns.asked == []


def test_hosts_are_canonicalised() -> None:
    policy = DestinationPolicy.from_settings(allow_ports=["8080"])
    assert policy.check_url("HTTP://Example.COM./a?b=1#frag").url == "http://example.com/a?b=1"
    assert policy.check_url("http://bücher.example:8080/x").url == (
        "http://xn--bcher-kva.example:8080/x"
    )
    assert policy.check_url("https://8.8.8.8.:443/").url == "https://8.8.8.8/"
    assert policy.check_url("http://134744072/").url == "http://8.8.8.8/"  # decimal
    assert policy.check_url("http://010.010.010.010/").url == "http://8.8.8.8/"  # octal
    assert non_public_kind(policy.check_url("http://8.8.8.8/").address) is None  # type: ignore[arg-type]


def test_a_refused_feed_entry_is_one_problem_line_and_the_refresh_goes_on(
    tmp_path: Path, internal: NewsServer, public: NewsServer
) -> None:
    """The trial of the issue: a feed entry pointing at an internal page is not indexed."""
    good = public.add(
        "/good", article_page("Harbour", ["The harbour reopened to ships on Friday."])
    )
    feed = public.add(
        "/feed.rss",
        rss("Coast", [{"title": "Harbour", "link": good},
                      {"title": "Payroll", "link": internal.url("/internal")}]),
        content_type="application/rss+xml",
    )  # fmt: skip
    config = FetchConfig(allow_private=["127.0.0.2"], allow_ports=PORTS, host_delay=0)
    report = reindex(
        [SourceRef(kind="feed", location=feed)],
        tmp_path / "idx",
        store_path=tmp_path / "store.sqlite3",
        fetch=config,
    )
    assert report.articles == 1
    [problem] = report.problems
    assert problem.origin == internal.url("/internal")
    assert problem.reason.startswith("refused: 127.0.0.1, a loopback address, is not fetched")
    assert "[fetch] allow_private" in problem.reason
    assert internal.requests == []


def test_a_configured_internal_feed_is_refused_with_the_setting_to_change(
    tmp_path: Path, internal: NewsServer
) -> None:
    from tests.bot.test_cli import run
    from tests.corpus import write_corpus

    write_corpus(tmp_path / "news")
    feed = internal.add(
        "/feed.rss", rss("Intranet", [{"title": "Payroll", "link": internal.url("/internal")}]),
        content_type="application/rss+xml",
    )  # fmt: skip
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'[index]\npath = "idx"\n\n[[sources]]\npath = "news"\n\n[[sources]]\nfeed = "{feed}"\n\n'
        '[fetch]\nallow_ports = ["1024-65535"]\n',
        encoding="utf-8",
    )
    reindexed = run("reindex", "--config", str(config))
    sources = run("sources", "--config", str(config))
    assert reindexed.returncode == 2, reindexed.stderr  # one source refused, one worked
    line = f"{feed}: refused: 127.0.0.1, a loopback address, is not fetched; to fetch it, list 127.0.0.1 in [fetch] allow_private"
    assert line in reindexed.stdout
    assert "last error: refused: 127.0.0.1, a loopback address" in sources.stdout
    assert internal.requests == []

    config.write_text(config.read_text() + 'allow_private = ["127.0.0.1"]\nhost_delay = 0\n')
    allowed = run("reindex", "--config", str(config))
    assert allowed.returncode == 0 and "Problems" not in allowed.stdout, allowed.stdout
    assert internal.hits("/internal")
