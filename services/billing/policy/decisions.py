"""The two decisions, computed from the rules' declarations (services/billing/policy/rules.py):
which rules are judged at each stage, in what order, and how their findings combine.

A refusal rule wins over a paid rule, a paid rule over a free rule; the decision names every
rule of the kind that won. At resolution a ticket that meets no free rule is paid, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.common import Decision, RuleHit
from services.billing.policy.declaring import Case, Rule, RuleDescription, Stage
from services.billing.policy.facts import PolicyInputs, PolicyParameters, TicketFacts, WorkFacts
from services.billing.policy.rules import NO_FREE_RULE, POLICY, rule_outside_hours_at_submission


@dataclass(frozen=True)
class PolicyDecision:
    decision: Decision
    reasons: tuple[RuleHit, ...]
    policy_version: str
    deferred_until: datetime | None = None


RULES: dict[str, Rule[...]] = {rule.code: rule for rule in POLICY.judged}
"""Every rule of docs/product.md by its code, each callable like its function (the
documentation and the tests list them from here)."""

_JUDGED: dict[Stage, list[Rule[...]]] = {
    "provisional": POLICY.judged_at("provisional"),
    "final": POLICY.judged_at("final"),
}


def combine(
    refused: list[RuleHit | None],
    paid: list[RuleHit | None],
    free: list[RuleHit | None],
    *,
    final: bool,
) -> tuple[Decision, list[RuleHit]]:
    """Refused > paid > free; the decision names every rule of the winning kind. At resolution,
    help that meets no free rule is paid and says so (P-NO-FREE-RULE); with today's rules a paid
    rule always explains it first (F-SHORT-USAGE fails only where P-COMPLEX or P-LEGISLATION
    applies), so this is the guard for parameter sets that separate them."""
    refusals = [h for h in refused if h]
    if refusals:
        return "refused", refusals
    paying = [h for h in paid if h]
    if paying:
        return "paid", paying
    freeing = [h for h in free if h]
    if freeing:
        return "free", freeing
    return "paid", [NO_FREE_RULE] if final else []


def _judge(stage: Stage, case: Case) -> tuple[Decision, list[RuleHit]]:
    """Every rule judged at `stage`, combined by effect."""
    found: dict[str, list[RuleHit | None]] = {"refused": [], "paid": [], "free": []}
    for rule in _JUDGED[stage]:
        found[rule.effect].append(rule.on(case))
    return combine(found["refused"], found["paid"], found["free"], final=stage == "final")


def provisional_decision(
    facts: TicketFacts, params: PolicyParameters, inputs: PolicyInputs | None = None
) -> PolicyDecision:
    """Decide, at creation, whether help is expected to be free, paid or refused, and why."""
    inputs = inputs or PolicyInputs()
    deferral, deferred_until = rule_outside_hours_at_submission(facts, params, inputs)
    decision, reasons = _judge("provisional", Case(facts, inputs, params))
    if not reasons:  # e.g. a question about regulations through the portal has no free rule
        decision, reasons = "paid", [NO_FREE_RULE]
    if deferral is not None and decision != "refused":
        reasons = [deferral, *reasons]
    return PolicyDecision(
        decision, tuple(reasons), params.version, deferred_until if decision != "refused" else None
    )


def final_decision(
    facts: TicketFacts, work: WorkFacts, params: PolicyParameters, inputs: PolicyInputs
) -> PolicyDecision:
    """Decide, at resolution, with the time spent and what the work involved."""
    decision, reasons = _judge("final", Case(facts, inputs, params, work))
    return PolicyDecision(decision, tuple(reasons), params.version)


def describe_rules(params: PolicyParameters) -> list[RuleDescription]:
    """Every rule of the policy in force, with its thresholds, in English and Slovenian."""
    return [declaration.describe(params) for declaration in POLICY.declared]
