"""Where newsbot may send a request: public web addresses only, unless the operator allows more.

Every URL that newsbot fetches (a feed, each entry's link, every redirect hop, robots.txt) was
chosen by a third party. Without a policy, a feed's author could make the bot fetch and quote
``http://169.254.169.254/`` (a cloud host's credentials) or an intranet page. The policy is applied
three times, each catching what the one before cannot:

1. ``check_url`` on the URL's text: scheme, userinfo, port, internal host names, and IP literals
   in every spelling (``2130706433``, ``0177.0.0.1``, ``127.1``, ``[::ffff:127.0.0.1]``);
2. ``PolicyResolver`` (``resolver.py``) on every name resolution, knowing the name that was asked for;
3. ``guard_socket`` on the address actually connected to, so DNS rebinding (a name that resolves
   to a public address when checked and a private one when used) cannot slip past.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "[fetch] allow_private"
PORTS_SETTING = "[fetch] allow_ports"
DEFAULT_PORTS = {"http": 80, "https": 443}
# Names that reach the machine itself, the local network or a cloud host's metadata service.
_INTERNAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "metadata",
     "metadata.google.internal", "metadata.goog", "metadata.azure.internal", "instance-data",
     "instance-data.ec2.internal", "kubernetes.default", "kubernetes.default.svc"}
)  # fmt: skip
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
# inet_aton's forms: decimal (2130706433), octal (0177.0.0.1), hex (0x7f.1) and short (127.1).
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class DestinationRefused(OSError):
    """A destination the policy does not allow; raised before any connection is made."""


@dataclass(frozen=True)
class Destination:
    """A URL that passed the textual checks, with its host in canonical form."""

    url: str
    host: str
    port: int
    address: IPAddress | None  # set when the host is an IP literal


@dataclass(frozen=True)
class DestinationPolicy:
    allow_networks: tuple[IPNetwork, ...] = ()
    allow_hosts: frozenset[str] = frozenset()
    allow_ports: tuple[tuple[int, int], ...] = ()  # inclusive ranges
    # Addresses a resolver handed out for an allowed host name; the socket guard trusts these.
    _approved: set[IPAddress] = field(default_factory=set, compare=False, repr=False)

    @classmethod
    def from_settings(
        cls, allow_private: Iterable[str] = (), allow_ports: Iterable[int | str] = ()
    ) -> DestinationPolicy:
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in allow_private:
            network = parse_network(entry)
            if network is not None:
                networks.append(network)
            else:
                hosts.add(canonical_host(entry))
        return cls(tuple(networks), frozenset(hosts), tuple(parse_ports(allow_ports)))

    def check_url(self, url: str) -> Destination:
        """The URL with its host canonicalised, or ``DestinationRefused`` saying why not."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise DestinationRefused(
                f"only http and https URLs are fetched, not {scheme or 'a URL without a scheme'}"
            )
        if "@" in parts.netloc:
            raise DestinationRefused("URLs with a user name or password in them are not fetched")
        if any(c.isspace() or ord(c) < 32 for c in url.strip()):
            raise DestinationRefused("the URL holds spaces or control characters")
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise DestinationRefused("the URL's port is not a number from 1 to 65535") from None
        raw_host = parts.hostname or ""
        if not raw_host:
            raise DestinationRefused("the URL has no host name")
        if "%" in raw_host:
            raise DestinationRefused("IPv6 addresses with a zone (%…) are not fetched")
        try:
            host = canonical_host(raw_host)
        except ValueError as exc:
            raise DestinationRefused(str(exc)) from None
        address = literal_address(host)
        if port != DEFAULT_PORTS[scheme] and not any(a <= port <= b for a, b in self.allow_ports):
            raise DestinationRefused(
                f"port {port} is not the default {scheme} port; to fetch it, add {port} to "
                f"{PORTS_SETTING}"
            )
        if address is not None:
            problem = self.address_problem(address, host)
            if problem:
                raise DestinationRefused(problem)
        elif host not in self.allow_hosts:
            problem = _name_problem(host)
            if problem:
                raise DestinationRefused(problem)
        netloc = f"[{host}]" if address is not None and address.version == 6 else host
        if port != DEFAULT_PORTS[scheme]:
            netloc += f":{port}"
        canonical = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
        return Destination(url=canonical, host=host, port=port, address=address)

    def address_problem(self, address: IPAddress, host: str | None = None) -> str | None:
        """Why connecting to ``address`` (for ``host``) is refused, or None when it is allowed."""
        if host is not None and host in self.allow_hosts:
            return None
        if any(address in network for network in self.allow_networks):
            return None
        kind = non_public_kind(address)
        if kind is None:
            return None
        name = f"{host} resolves to {address}" if host and host != str(address) else str(address)
        return (
            f"{name}, a {kind} address, is not fetched; to fetch it, list "
            f"{host or address} in {ALLOW_SETTING}"
        )

    def approve(self, address: IPAddress) -> None:
        self._approved.add(address)

    def guard_socket(self, addr_info: tuple) -> socket.socket:  # type: ignore[type-arg]
        """aiohttp's socket factory: the last check, on the address about to be connected to."""
        family, type_, proto, _, sockaddr = addr_info
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if address not in self._approved:
            problem = self.address_problem(address)
            if problem:
                raise DestinationRefused(problem)
        return socket.socket(family=family, type=type_, proto=proto)


def non_public_kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = non_public_kind(embedded)
            return f"IPv6-wrapped {inner}" if inner else None
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "carrier-grade NAT"
    if address.is_reserved:  # before "private": Python counts 240.0.0.0/4 as both
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-public"
    return None


def canonical_host(host: str) -> str:
    """Lower case, no trailing dot, IDNA (punycode) for international names, dotted IPv4."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if not host:
        raise ValueError("the URL has no host name")
    address = literal_address(host)
    if address is not None:
        return str(address)
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{host!r} is not a valid host name") from None


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, in any spelling inet_aton takes."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise ValueError(f"{host!r} is not a valid IPv4 address") from None
    return None


def parse_network(entry: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return None


def parse_ports(entries: Iterable[int | str]) -> list[tuple[int, int]]:
    """Ports and inclusive ranges: ``8080``, ``"8000-8999"``."""
    ranges = []
    for entry in entries:
        low, _, high = str(entry).strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            first, last = 0, -1
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"{entry!r} is not a port or a range of ports from 1 to 65535")
        ranges.append((first, last))
    return ranges


def _name_problem(host: str) -> str | None:
    if host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES):
        return (
            f"{host} is an internal host name and is not fetched; to fetch it, list it in "
            f"{ALLOW_SETTING}"
        )
    if "." not in host:
        return (
            f"{host} is a host name without a domain, which reaches the local network; to fetch "
            f"it, list it in {ALLOW_SETTING}"
        )
    return None
