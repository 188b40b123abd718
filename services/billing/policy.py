"""The support policy (PRODUCT.md): pure decisions with the rules that produced them.

This is the provisional decision of the foundation: P-CHANNEL and the working-hours rule. The full
rule set (refusals, onboarding, final decisions at resolution) arrives with the policy issue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from contracts.common import Channel, Decision, RuleHit
from services.billing.working_time import WorkingCalendar


@dataclass(frozen=True)
class PolicyParameters:
    """Named, versioned policy inputs; a change of any value gets a new `version`."""

    version: str = "2026.11-provisional.1"
    timezone: str = "Europe/Ljubljana"
    work_start: time = time(8, 0)
    work_end: time = time(16, 0)
    working_weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            timezone=self.timezone,
            start=self.work_start,
            end=self.work_end,
            weekdays=self.working_weekdays,
        )


@dataclass(frozen=True)
class TicketFacts:
    """What is known about a ticket when it is created."""

    channel: Channel
    submitted_at: datetime


@dataclass(frozen=True)
class PolicyDecision:
    decision: Decision
    reasons: tuple[RuleHit, ...]
    policy_version: str
    deferred_until: datetime | None = None


def provisional_decision(facts: TicketFacts, params: PolicyParameters) -> PolicyDecision:
    """Decide, at creation, whether help is expected to be free or paid, and why."""
    reasons: list[RuleHit] = []
    deferred_until = None
    calendar = params.calendar()
    if not calendar.is_working_time(facts.submitted_at):
        deferred_until = calendar.next_working_start(facts.submitted_at)
        reasons.append(
            RuleHit(
                code="R-OUTSIDE-HOURS",
                effect="deferred",
                explanation=(
                    "Submitted outside working hours (Mon-Fri "
                    f"{params.work_start:%H:%M}-{params.work_end:%H:%M}, {params.timezone}, "
                    "public holidays excluded); it waits for the next working period "
                    f"starting {deferred_until.isoformat()}."
                ),
            )
        )
    if facts.channel != "portal":
        reasons.append(
            RuleHit(
                code="P-CHANNEL",
                effect="paid",
                explanation=f"Submitted by {facts.channel}, not through the portal.",
            )
        )
        decision: Decision = "paid"
    else:
        reasons.append(
            RuleHit(
                code="F-SHORT-USAGE",
                effect="free",
                explanation=(
                    "Submitted through the portal and no paid rule applies so far; "
                    "the final decision at resolution depends on the time spent and the help given."
                ),
            )
        )
        decision = "free"
    return PolicyDecision(decision, tuple(reasons), params.version, deferred_until)
