"""Benchmark: a large file up to the content service and back, directly and through the gateway,
with the content process's memory watched all the while (issue 16's report).

    .venv/bin/python -m benchmarks.content_transfer [--mib 200] [--rounds 2]

Starts the whole stack (embedded Postgres and broker, filesystem storage in its state
directory), signs in as the demo vendor admin, and per round uploads a release file of `--mib`
MiB and downloads it, once straight to the content service's port and once through the gateway.
The raw baseline, run in the same process beside it: writing and reading the same bytes to and
from a file in the same directory with plain Python file I/O. It prints MiB/s, the ratio to the
baseline, and the content process's peak resident memory during each transfer (sampled from
/proc every 20 ms) and over its whole life (VmHWM). It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from benchmarks.running import demo_headers, started_stack
from services.auth.demo import VENDOR_ADMIN

MiB = 1 << 20
BLOCK = b"PK\x03\x04" + os.urandom(MiB - 4)


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class PeakRss:
    """The highest resident memory of a process while a block of work runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kib, self._task = pid, 0, None  # type: ignore[var-annotated]

    async def __aenter__(self) -> PeakRss:
        self.peak_kib = _status_kib(self.pid, "VmRSS")

        async def sample() -> None:
            while True:
                self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmRSS"))
                await asyncio.sleep(0.02)

        self._task = asyncio.create_task(sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak_kib = max(self.peak_kib, _status_kib(self.pid, "VmRSS"))


async def _body(mib: int) -> AsyncIterator[bytes]:
    for _ in range(mib):
        yield BLOCK


def _baseline(directory: Path, mib: int) -> tuple[float, float]:
    """Seconds to write and to read `mib` MiB with plain file I/O in the same directory (into and
    out of the page cache, as the service's own writes and reads go)."""
    path = directory / "baseline.bin"
    started = time.perf_counter()
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(BLOCK)
    written = time.perf_counter() - started
    started = time.perf_counter()
    with path.open("rb") as source:
        while source.read(256 * 1024):
            pass
    read = time.perf_counter() - started
    path.unlink()
    return written, read


async def _round(
    client: httpx.AsyncClient, base: str, admin: dict[str, str], *, mib: int, pid: int, label: str
) -> list[tuple[str, float, int]]:
    created = await client.post(
        f"{base}/api/content/releases",
        json={
            "program": "Benchmark",
            "version": f"{label}-{time.monotonic_ns()}",
            "released_on": "2026-12-01",
        },
        headers=admin,
    )
    created.raise_for_status()
    release_id = created.json()["id"]
    async with PeakRss(pid) as up_rss:
        started = time.perf_counter()
        uploaded = await client.post(
            f"{base}/api/content/releases/{release_id}/files",
            params={"name": "big.zip"},
            content=_body(mib),
            headers=admin,
        )
        up_s = time.perf_counter() - started
    uploaded.raise_for_status()
    file = uploaded.json()
    expected = hashlib.sha256()
    for _ in range(mib):
        expected.update(BLOCK)
    assert file["sha256"] == expected.hexdigest() and file["size"] == mib * MiB
    digest, size = hashlib.sha256(), 0
    async with PeakRss(pid) as down_rss:
        started = time.perf_counter()
        async with client.stream("GET", f"{base}{file['url']}", headers=admin) as response:
            response.raise_for_status()
            async for chunk in response.aiter_raw():
                digest.update(chunk)
                size += len(chunk)
        down_s = time.perf_counter() - started
    assert size == mib * MiB and digest.hexdigest() == file["sha256"]
    return [
        (f"upload {label}", up_s, up_rss.peak_kib),
        (f"download {label}", down_s, down_rss.peak_kib),
    ]


async def main(mib: int, rounds: int) -> None:
    async with started_stack("ticketing-bench-content-", log_format="json") as stack:
        pid = stack.processes["content"].pid
        async with httpx.AsyncClient(timeout=600) as client:
            admin = await demo_headers(client, stack.gateway_url, VENDOR_ADMIN.email)
            print(
                f"{mib} MiB per transfer, {rounds} rounds; content process {pid}, "
                f"idle RSS {_status_kib(pid, 'VmRSS') / 1024:.0f} MiB"
            )
            results: dict[str, list[tuple[float, int]]] = {}
            baselines: dict[str, list[float]] = {"upload": [], "download": []}
            for _ in range(rounds):
                written, read = _baseline(stack.content_dir, mib)
                baselines["upload"].append(written)
                baselines["download"].append(read)
                for label, base in (
                    ("direct", stack.urls["content"]),
                    ("gateway", stack.gateway_url),
                ):
                    for name, seconds, peak in await _round(
                        client, base, admin, mib=mib, pid=pid, label=label
                    ):
                        results.setdefault(name, []).append((seconds, peak))
        raw = {kind: mib / min(times) for kind, times in baselines.items()}
        print(
            f"raw file write {raw['upload']:8.1f} MiB/s   "
            f"raw file read {raw['download']:8.1f} MiB/s (page cache, no fsync)"
        )
        for name, samples in results.items():
            best = mib / min(s for s, _ in samples)
            peak = max(p for _, p in samples) / 1024
            ratio = best / raw[name.split()[0]]
            print(
                f"{name:<18} {best:8.1f} MiB/s  ({ratio:.2f}x raw)   "
                f"content peak RSS {peak:6.1f} MiB"
            )
        print(f"content process VmHWM over its life: {_status_kib(pid, 'VmHWM') / 1024:.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.mib, args.rounds))
