"""The vendor's support policy (seed 001, docs/product.md): pure rules, each with a reason in words.

- `facts.py`: what the rules look at (the ticket, the inputs from other systems, the work) and
  the named, versioned `PolicyParameters`;
- `declaring.py`: how a rule is declared once, with its texts in English and Slovenian;
- `rules.py`: every rule, declared (each imported from there: a new rule touches no list here);
- `decisions.py`: the provisional and final decisions, `RULES` and the rules' descriptions,
  computed from the declarations.
"""

from services.billing.policy.decisions import (
    RULES,
    PolicyDecision,
    combine,
    describe_rules,
    final_decision,
    provisional_decision,
)
from services.billing.policy.declaring import RuleDescription, Texts
from services.billing.policy.facts import (
    Arrangement,
    EarlierTicket,
    InputsHistory,
    Onboarding,
    PolicyInputs,
    PolicyParameters,
    Standing,
    TicketFacts,
    WorkFacts,
    as_record,
)
from services.billing.policy.rules import NO_FREE_RULE, POLICY

__all__ = [
    "NO_FREE_RULE",
    "POLICY",
    "RULES",
    "Arrangement",
    "EarlierTicket",
    "InputsHistory",
    "Onboarding",
    "PolicyDecision",
    "PolicyInputs",
    "PolicyParameters",
    "RuleDescription",
    "Standing",
    "Texts",
    "TicketFacts",
    "WorkFacts",
    "as_record",
    "combine",
    "describe_rules",
    "final_decision",
    "provisional_decision",
]
