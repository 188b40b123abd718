"""Benchmark: time to start the whole system, and POST -> decision visible on the ticket.

    .venv/bin/python -m benchmarks.chain_latency [--tickets 20]
    .venv/bin/python -m benchmarks.chain_latency --gateway http://127.0.0.1:8000   # a running `dev`

Without --gateway it starts the same stack as `ticketing dev` (embedded infrastructure) in a
temporary directory, reports how long it took until every service was ready, then submits tickets
one after another as the demo customer and polls each until its decision is visible, and prints
median, p90 and max. It prints figures; it asserts nothing.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from benchmarks.running import arguments, demo_headers, gateway_to_measure, p90
from services.auth.demo import CUSTOMER


async def measure(gateway: str, count: int) -> list[float]:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        headers = await demo_headers(client, gateway, CUSTOMER.email)
        samples = []
        for i in range(count):
            started = time.perf_counter()
            created = await client.post(
                "/api/tickets",
                json={"subject": f"Meritev {i}", "body": "Zakasnitev verige"},
                headers=headers,
            )
            created.raise_for_status()
            ticket_id = created.json()["id"]
            while True:
                ticket = (await client.get(f"/api/tickets/{ticket_id}", headers=headers)).json()
                if ticket["decision"]:
                    break
                await asyncio.sleep(0.005)
            samples.append(time.perf_counter() - started)
        return samples


async def main() -> None:
    args = arguments(__doc__, tickets=20)
    async with gateway_to_measure(args.gateway, report_start_up=True) as gateway:
        samples = await measure(gateway, args.tickets)
    ms = sorted(s * 1000 for s in samples)
    print(
        f"POST -> decision visible on the ticket, {len(ms)} tickets one after another: "
        f"median {statistics.median(ms):.0f} ms, p90 {p90(ms):.0f} ms, "
        f"min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
