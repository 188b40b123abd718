"""Who the client is, and what the services are told about it (services/gateway/README.md,
"Client address and trusted proxies").

The gateway is where client-supplied forwarding headers are judged. `X-Forwarded-For`,
`-Proto` and `-Host` are believed only from a peer in `GATEWAY_TRUSTED_PROXIES`; from anyone else
they are dropped, so a client cannot choose the address the sign-in throttle counts. The services
get exactly one address in `X-Forwarded-For`: the client's, as decided here. Pure but for the
ASGI scope it reads.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from starlette.types import Scope
from yarl import URL

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDING_HEADERS = frozenset(
    {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip"}
)
"""Headers about the client's connection: never passed on as the client sent them."""
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Addresses and networks, comma-separated (`10.0.0.0/8, 192.0.2.7, ::1`); raises
    ValueError naming the entry that is neither."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def _address(text: str) -> str | None:
    """The IP address in a forwarded-for entry (`192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`,
    `[2001:db8::1]:4711`, `2001:db8::1`), normalised; None when it is not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@dataclass(frozen=True)
class ClientView:
    """The request as the client made it: its address, the scheme and the host it used."""

    address: str | None
    proto: str
    host: str | None


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...] = ()

    def trusts(self, address: str | None) -> bool:
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_view(self, scope: Scope) -> ClientView:
        """The client as the connection shows it; behind trusted proxies, as they report it:
        the right-most `X-Forwarded-For` entry that is not itself a trusted proxy."""
        values: dict[str, list[str]] = {}
        for key, value in scope["headers"]:
            values.setdefault(key.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        peer = scope["client"][0] if scope.get("client") else None
        host = _valid_host(values.get("host", [""])[0])
        view = ClientView(peer, scope.get("scheme", "http"), host)
        if not self.trusts(peer):
            return view
        address = peer
        hops = [hop for value in values.get("x-forwarded-for", []) for hop in value.split(",")]
        for hop in reversed(hops):
            found = _address(hop)
            if found is None:
                break  # not an address: keep the nearest trusted hop rather than a guess
            address = found
            if not self.trusts(found):
                break
        proto = _first(values.get("x-forwarded-proto"))
        forwarded_host = _valid_host(_first(values.get("x-forwarded-host")) or "")
        return ClientView(
            address,
            proto if proto in ("http", "https") else view.proto,
            forwarded_host or host,
        )


def _first(values: list[str] | None) -> str | None:
    if not values:
        return None
    return values[0].split(",")[0].strip().lower() or None


def _valid_host(value: str) -> str | None:
    value = value.strip()
    return value if value and len(value) <= 255 and _HOST.match(value) else None


def forwarding_headers(view: ClientView) -> list[tuple[str, str]]:
    """What the services are told about the client: one address, the scheme, the host."""
    headers = [("x-forwarded-proto", view.proto)]
    if view.address:
        headers.append(("x-forwarded-for", view.address))
    if view.host:
        headers.append(("x-forwarded-host", view.host))
    return headers


class InternalOrigins:
    """The services' own addresses, so that none of them reaches a client in a `Location`."""

    def __init__(self, bases: list[str]) -> None:
        self._origins = {_origin(URL(base)) for base in bases}

    def public_location(self, location: str) -> str:
        """A `Location` pointing at a service's own address, as a path on the gateway (the
        client resolves it against the address it used); any other is left as it is."""
        try:
            url = URL(location, encoded=True)
        except ValueError:
            return location
        if not url.is_absolute() or _origin(url) not in self._origins:
            return location
        fragment = f"#{url.raw_fragment}" if url.raw_fragment else ""
        return (url.raw_path_qs or "/") + fragment


def _origin(url: URL) -> tuple[str, str, int | None]:
    return (url.scheme.lower(), (url.host or "").lower(), url.port)
