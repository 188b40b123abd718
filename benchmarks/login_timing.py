"""Benchmark: do login and forgot-password take the same time for known and unknown e-mails?
(docs/reliability.md 14: no user enumeration by timing.)

    .venv/bin/python -m benchmarks.login_timing [--rounds 30]
    .venv/bin/python -m benchmarks.login_timing --gateway http://127.0.0.1:8000   # a running `dev`

Alternates known and unknown e-mails (wrong password), each round from its own loopback
address (127.0.x.y; the gateway believes no X-Forwarded-For from a client, so the address must be
the connection's) so the throttle does not interfere, and prints medians and p90 per case. The
gateway must therefore be on this machine. After the first five rounds the known address's
password links are capped (AUTH_PASSWORD_LINKS_PER_WINDOW): "forgot known" then measures the
capped answer, which is what a prober sees. It prints figures; it asserts nothing.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import httpx

from benchmarks.running import arguments, gateway_to_measure, p90
from services.auth.demo import CUSTOMER


async def _timed(client: httpx.AsyncClient, path: str, body: dict[str, str]) -> float:
    started = time.perf_counter()
    response = await client.post(path, json=body)
    elapsed = time.perf_counter() - started
    assert response.status_code in (202, 401), response.text
    return elapsed * 1000


def _client_of_round(gateway: str, n: int) -> httpx.AsyncClient:
    """A client connecting from a loopback address of round `n`'s own."""
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.{n // 250 + 2}.{n % 250 + 1}")
    return httpx.AsyncClient(base_url=gateway, timeout=30, transport=transport)


async def measure(gateway: str, rounds: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {
        k: [] for k in ("login known", "login unknown", "forgot known", "forgot unknown")
    }
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        for i in range(rounds):
            unknown = f"nihce-{uuid.uuid4().hex[:8]}@nikjer.example"
            # A fresh unknown address each time keeps the per-account throttle out of the way;
            # the known account gets four tries per round's address, below its free failures.
            async with _client_of_round(gateway, i) as round_client:
                for label, email in (("known", CUSTOMER.email), ("unknown", unknown)):
                    samples[f"login {label}"].append(
                        await _timed(
                            round_client,
                            "/api/auth/login",
                            {"email": email, "password": f"napačno {i}"},
                        )
                    )
                    samples[f"forgot {label}"].append(
                        await _timed(round_client, "/api/auth/password/forgot", {"email": email})
                    )
            if i % 4 == 3:  # stay under the account's free failures: a success clears them
                await client.post(
                    "/api/auth/login", json={"email": CUSTOMER.email, "password": "demo-geslo-2026"}
                )
    return samples


async def main() -> None:
    args = arguments(__doc__, rounds=30)
    async with gateway_to_measure(args.gateway) as gateway:
        samples = await measure(gateway, args.rounds)
    for case, values in samples.items():
        ms = sorted(values)
        print(
            f"{case:<15} n={len(ms)}  median {statistics.median(ms):6.1f} ms  p90 {p90(ms):6.1f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
