"""The destination policy at name resolution: aiohttp's resolver, less the refused addresses.

Apart from ``destinations.py`` because it is made of aiohttp, which takes a quarter of a second
to import: only a refresh that fetches needs it, not every command that reads the settings.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from index.ingest.destinations import (
    DestinationPolicy,
    DestinationRefused,
    canonical_host,
    non_public_kind,
)


class PolicyResolver(AbstractResolver):
    """Resolves names as usual, then drops every address the policy refuses for that name."""

    def __init__(self, policy: DestinationPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = canonical_host(host)
        results = await self._inner.resolve(host, port, family)
        allowed, problems = [], []
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%")[0])
            problem = self._policy.address_problem(address, name)
            if problem:
                problems.append(problem)
                continue
            if non_public_kind(address) is not None:
                self._policy.approve(address)  # an allowed private address of an allowed name
            allowed.append(result)
        if not allowed:
            raise DestinationRefused(problems[0] if problems else f"{host} has no address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
