"""Canonical URLs, so one story reached through several links is one article."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid",
        "ref", "ref_src", "referrer", "cmpid", "cmp", "smid", "smtyp", "ocid", "ncid",
        "outputtype", "amp", "share", "s_cid", "src", "via",
    }
)  # fmt: skip


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop the fragment, tracking parameters and AMP variants.

    >>> canonical_url("HTTPS://Example.com/a/amp/?utm_source=x&id=3#top")
    'https://example.com/a?id=3'
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host.startswith("amp."):
        host = host[4:]
    if parts.port and not _default_port(parts.scheme, parts.port):
        host = f"{host}:{parts.port}"
    path = parts.path
    for suffix in ("/amp", "/amp/", ".amp", ".amp.html"):
        if path.endswith(suffix):
            path = path[: -len(suffix)] or "/"
            break
    if path.startswith("/amp/"):
        path = path[4:]
    path = path.rstrip("/") or ""
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    return urlunsplit((parts.scheme.lower(), host, path, urlencode(sorted(query)), ""))


def _default_port(scheme: str, port: int) -> bool:
    return (scheme, port) in {("http", 80), ("https", 443)}
