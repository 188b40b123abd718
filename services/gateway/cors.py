"""Cross-origin requests from the portal's own origins, and nothing for any other
(services/gateway/README.md, "Cross-origin requests").

Modelled on Starlette's `CORSMiddleware`, which is plain ASGI too, but stricter where the portal
needs it: Starlette's adds `Access-Control-Allow-Credentials` (and the exposed headers) to the
answers for *every* origin, and answers a refused preflight with the allowed methods, headers and
max-age in plain text. Here another origin gets no `Access-Control-*` header at all, a refused
preflight is a 403 in the gateway's JSON shape, origins are validated when the gateway starts
(`*` cannot go with credentials), and the services' own `Access-Control-*` headers, should one
ever send any, are dropped so that this stays the one place that decides.

The methods, headers and max-age are constants that `devstack/manifests.py` also writes into the
ingress annotations, so that the cluster answers like the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from services.gateway.answers import correlation_id_of, send_problem

ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
"""What the services' routes use."""
ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "Range",
    "If-Range",
    "X-Request-ID",
    "X-Correlation-ID",
)
"""What the portal sends beyond the CORS-safelisted headers: the access token, JSON bodies, a
video's range requests, the correlation id."""
SAFELISTED_HEADERS = ("accept", "accept-language", "content-language")
EXPOSE_HEADERS = (
    "Accept-Ranges",
    "Content-Disposition",
    "Content-Range",
    "ETag",
    "Retry-After",
    "X-Correlation-ID",
    "X-Request-ID",
)
"""Answer headers the portal's script may read beyond the safelisted ones."""
DEFAULT_MAX_AGE_S = 600
"""How long a browser may reuse a preflight's answer (Chromium caps it at 7,200 s)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origins(text: str) -> tuple[str, ...]:
    """Origins, comma-separated (`https://portal.example.com, http://localhost:5173`), each
    serialized as a browser sends it in `Origin`; raises ValueError naming a bad entry."""
    origins = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        if entry in ("*", "null"):
            raise ValueError(
                f"{entry!r} cannot be an allowed origin: credentials go only to named origins"
            )
        try:
            url = URL(entry)
        except ValueError:
            raise ValueError(f"{entry!r} is not an origin") from None
        if (
            url.scheme not in _DEFAULT_PORTS
            or not url.host
            or url.user is not None
            or url.raw_path not in ("", "/")
            or url.query_string
            or url.fragment
            or entry.endswith("/")
        ):
            raise ValueError(f"{entry!r} is not an origin (scheme://host[:port], nothing after)")
        port = "" if url.explicit_port in (None, _DEFAULT_PORTS[url.scheme]) else f":{url.port}"
        host = url.host.lower()
        origins.append(f"{url.scheme}://{f'[{host}]' if ':' in host else host}{port}")
    return tuple(origins)


@dataclass(frozen=True)
class CorsPolicy:
    origins: frozenset[str]
    max_age_s: int = DEFAULT_MAX_AGE_S

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin in self.origins

    def refusal(self, method: str, requested_headers: Iterable[str]) -> str | None:
        """Why a preflight for this method and these headers is refused, or None."""
        if method not in ALLOW_METHODS:
            return f"the method is not one allowed from another origin ({', '.join(ALLOW_METHODS)})"
        allowed = {h.lower() for h in ALLOW_HEADERS} | set(SAFELISTED_HEADERS)
        refused = sorted({h for h in requested_headers if h and h not in allowed})
        if refused:
            return (
                "a header asked for is not one allowed from another origin "
                f"({', '.join(ALLOW_HEADERS)} and the CORS-safelisted ones)"
            )
        return None


class CorsMiddleware:
    """Answers preflights for the allowed origins and marks their answers readable; passes
    everything else through untouched but for `Vary: Origin`."""

    def __init__(self, app: ASGIApp, policy: CorsPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.policy.origins:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        requested = headers.get("access-control-request-method")
        if origin is not None and scope["method"] == "OPTIONS" and requested is not None:
            await self._preflight(scope, send, origin, requested, headers)
            return
        allowed = self.policy.allows(origin)

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-") and k.lower() != b"vary"
                ]
                vary = [v for k, v in message.get("headers", []) if k.lower() == b"vary"]
                kept.append((b"vary", b", ".join([*vary, b"Origin"])))
                if allowed and origin is not None:
                    kept += [
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-credentials", b"true"),
                        (b"access-control-expose-headers", ", ".join(EXPOSE_HEADERS).encode()),
                    ]
                message = {**message, "headers": kept}
            await send(message)

        await self.app(scope, receive, send_marked)

    async def _preflight(
        self, scope: Scope, send: Send, origin: str, method: str, headers: dict[str, str]
    ) -> None:
        correlation_id = correlation_id_of(scope)
        vary = (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
        if not self.policy.allows(origin):
            detail = "Requests from this origin are not allowed; only the portal's origins are."
            await send_problem(send, 403, detail, correlation_id, extra=[vary])
            return
        requested_headers = [
            h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",")
        ]
        refusal = self.policy.refusal(method.strip().upper(), requested_headers)
        if refusal is not None:
            detail = f"This cross-origin request is refused: {refusal}."
            await send_problem(send, 403, detail, correlation_id, extra=[vary])
            return
        answer: list[tuple[bytes, bytes]] = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", ", ".join(ALLOW_METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(ALLOW_HEADERS).encode()),
            (b"access-control-max-age", str(self.policy.max_age_s).encode()),
            vary,
            (b"x-correlation-id", correlation_id.encode("latin-1")),
            (b"x-request-id", correlation_id.encode("latin-1")),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": answer})
        await send({"type": "http.response.body", "body": b""})
