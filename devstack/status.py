"""`ticketing status`: how far behind each service is, read from its `/metrics` endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[str, list[tuple[dict[str, str], float]]]
"""Sample name (`ticketing_outbox_waiting_events`) -> (labels, value) of each series."""


def parse_metrics(text: str) -> Samples:
    """The samples of a Prometheus text exposition, by sample name."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of a sample's series whose labels include `labels` (0 when there are none)."""
    return sum(
        value
        for series, value in samples.get(name, [])
        if all(series.get(k) == v for k, v in labels.items())
    )


@dataclass(frozen=True)
class ServiceStatus:
    """What an operator at the keyboard wants to know about one service."""

    name: str
    reachable: bool
    broker_up: bool = False
    lag: int = 0
    outbox_waiting: int = 0
    outbox_oldest_s: float = 0.0
    dead_lettered: int = 0
    parked: int = 0
    emails_pending: int | None = None
    emails_oldest_s: float = 0.0

    @property
    def behind(self) -> bool:
        """Anything waiting that should not wait: lag, an outbox backlog, pending e-mails."""
        return not self.reachable or bool(
            self.lag or self.outbox_waiting or self.parked or self.emails_pending
        )

    def line(self) -> str:
        """One line for a terminal."""
        if not self.reachable:
            return f"{self.name:<8} unreachable"
        parts = [
            f"lag {self.lag}",
            f"outbox {self.outbox_waiting}"
            + (f" (oldest {self.outbox_oldest_s:.0f} s)" if self.outbox_waiting else ""),
            f"dead-lettered {self.dead_lettered}",
            f"parked {self.parked}",
        ]
        if self.emails_pending is not None:
            parts.append(
                f"e-mails pending {self.emails_pending}"
                + (f" (oldest {self.emails_oldest_s:.0f} s)" if self.emails_pending else "")
            )
        broker = "" if self.broker_up else "  BROKER UNREACHABLE"
        return f"{self.name:<8} " + ", ".join(parts) + broker


def status_of(name: str, samples: Samples) -> ServiceStatus:
    """A service's status from its metrics."""
    pending = samples.get("ticketing_emails_pending")
    return ServiceStatus(
        name=name,
        reachable=True,
        broker_up=total(samples, "ticketing_broker_up") >= 1,
        lag=int(total(samples, "ticketing_consumer_lag_records")),
        outbox_waiting=int(total(samples, "ticketing_outbox_waiting_events")),
        outbox_oldest_s=total(samples, "ticketing_outbox_oldest_waiting_age_seconds"),
        dead_lettered=int(
            total(samples, "ticketing_consumer_events_total", outcome="dead_lettered")
        ),
        parked=int(total(samples, "ticketing_consumer_parked_records")),
        emails_pending=None if pending is None else int(total(samples, "ticketing_emails_pending")),
        emails_oldest_s=total(samples, "ticketing_emails_oldest_pending_age_seconds"),
    )


async def read_status(urls: Mapping[str, str], *, timeout_s: float = 3.0) -> list[ServiceStatus]:
    """Every service's status, read from `<url>/metrics` side by side."""
    async with httpx.AsyncClient(timeout=timeout_s) as client:

        async def one(name: str, url: str) -> ServiceStatus:
            try:
                response = await client.get(f"{url}/metrics")
                response.raise_for_status()
            except httpx.HTTPError:
                return ServiceStatus(name=name, reachable=False)
            return status_of(name, parse_metrics(response.text))

        return list(await asyncio.gather(*(one(n, u) for n, u in urls.items())))


def behind_line(statuses: list[ServiceStatus]) -> str | None:
    """One line naming what is behind (for `ticketing dev`'s output), or None when nothing is."""
    behind = [s for s in statuses if s.behind]
    if not behind:
        return None
    return "  behind " + "; ".join(s.line() for s in behind)
