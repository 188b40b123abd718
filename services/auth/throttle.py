"""Throttling of password guessing (docs/reliability.md 17), modelled on Keycloak's brute-force
detection: after a number of free failures, each further failure makes the next attempt wait
twice as long as the one before, up to a maximum; failures are forgotten after a quiet period.
And the cap on password links e-mailed to one address (`LinkCap`).

Pure: state and time in, state out. Counted per account (by the e-mail as typed, normalised, so an
unknown e-mail is throttled exactly like a known one) and per client address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int
    base_wait_s: float
    max_wait_s: float
    forget_after_s: float


@dataclass(frozen=True)
class ThrottleState:
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None = None


def account_key(normalized_email: str) -> str:
    return f"account:{normalized_email}"


def address_key(client_ip: str) -> str:
    return f"ip:{client_ip}"


def scope_of(key: str) -> str:
    """What a throttle key counts: "account" or "address" (a metric label, never the key)."""
    return "address" if key.startswith("ip:") else "account"


def wait_s(state: ThrottleState | None, now: datetime) -> float:
    """Seconds the next attempt must still wait (0 when it may go ahead)."""
    if state is None or state.locked_until is None:
        return 0.0
    return max(0.0, (state.locked_until - now).total_seconds())


def after_failure(
    state: ThrottleState | None, now: datetime, policy: ThrottlePolicy
) -> ThrottleState:
    """The state after one more failed attempt at `now`."""
    forgotten = (
        state is None or (now - state.last_failure_at).total_seconds() > policy.forget_after_s
    )
    failures = 1 if forgotten or state is None else state.failures + 1
    excess = failures - policy.free_failures
    if excess <= 0:
        return ThrottleState(failures=failures, last_failure_at=now)
    wait = min(policy.max_wait_s, policy.base_wait_s * 2 ** min(excess - 1, 32))
    return ThrottleState(
        failures=failures, last_failure_at=now, locked_until=now + timedelta(seconds=wait)
    )


@dataclass(frozen=True)
class LinkCap:
    """At most `per_window` password links (reset or invitation) are e-mailed to one address
    within `window_s`; a request beyond that is answered as any other and sends nothing, so
    neither a mailbox nor the mail server's reputation can be flooded through the portal."""

    per_window: int
    window_s: float

    def since(self, now: datetime) -> datetime:
        """The start of the window that ends at `now`."""
        return now - timedelta(seconds=self.window_s)

    def allows(self, sent_in_window: int) -> bool:
        """Whether one more link may go out after `sent_in_window` within the window."""
        return sent_in_window < self.per_window
