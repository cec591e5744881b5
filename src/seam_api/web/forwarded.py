"""The client's address behind trusted proxies (SEAM_TRUSTED_PROXIES).

The login limiter counts failures per address and the audit records it, so behind a load
balancer the peer address would be the balancer's, shared by everyone. `X-Forwarded-For` is
believed only from a trusted peer, and read from the right: each trusted hop appended the
address it saw, so the first untrusted address from the right is the client. Anything left of
it was written by the client and proves nothing.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddresses:
    """Resolves a request's client address from its peer and its X-Forwarded-For."""

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self.trusted = trusted
        # A few peers (the balancers) ask again and again: remember each answer.
        self._is_trusted = lru_cache(maxsize=1024)(self._check)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> str | None:
        if not self.trusted or peer is None or not forwarded_for or not self._is_trusted(peer):
            return peer
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            if not _is_address(hop):
                break  # garbage from here leftwards: keep the last hop a trusted proxy named
            client = hop
            if not self._is_trusted(hop):
                break
        return client

    def _check(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
