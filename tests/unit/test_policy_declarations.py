"""The rules' declarations: each rule's words, stages and parameters are declared once, and the
decisions, `RULES` and the descriptions are computed from them."""

from __future__ import annotations

import uuid
from dataclasses import fields, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.common import RuleHit
from services.billing.policy import (
    POLICY,
    RULES,
    Onboarding,
    PolicyInputs,
    PolicyParameters,
    Texts,
    TicketFacts,
    WorkFacts,
    describe_rules,
    final_decision,
    provisional_decision,
)
from services.billing.policy.declaring import Catalog

LJ = ZoneInfo("Europe/Ljubljana")
ANA = uuid.uuid4()
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=LJ)
PARAMETER_NAMES = {f.name for f in fields(PolicyParameters)}


def test_every_declared_parameter_is_a_policy_parameter_and_every_one_used_is_declared() -> None:
    for declaration in POLICY.declared:
        assert set(declaration.parameters) <= PARAMETER_NAMES, declaration.code
        texts = [declaration.description, *declaration.reasons.values()]
        used = {
            name.split(".")[1]
            for text in texts
            for name in text.fields()
            if name.startswith("params.")
        }
        assert used <= set(declaration.parameters), (declaration.code, used)


def test_every_reason_of_every_rule_has_both_languages_with_the_same_fields() -> None:
    for declaration in POLICY.declared:
        for variant, text in {"": declaration.description, **declaration.reasons}.items():
            assert text.en.strip() and text.sl.strip(), (declaration.code, variant)
            assert text.en != text.sl, (declaration.code, variant)
            en = {n for n in Texts(text.en, "").fields()}
            sl = {n for n in Texts("", text.sl).fields()}
            assert en == sl, (declaration.code, variant)


def test_rules_and_descriptions_come_from_the_one_catalogue_in_its_order() -> None:
    assert list(RULES) == [r.code for r in POLICY.judged]
    assert [d.code for d in describe_rules(PolicyParameters())] == [d.code for d in POLICY.declared]
    assert {d.code for d in POLICY.declared} - set(RULES) == {"P-NO-FREE-RULE"}


def test_a_rule_is_judged_only_at_its_stages() -> None:
    """P-IN-DOCS is a final-stage rule: the provisional decision never asks it."""
    facts = TicketFacts("portal", TUESDAY_10, ANA, "program_usage", None)
    set_up = PolicyInputs(
        onboarding=(Onboarding(ANA, "Plače", "onboarding", date(2025, 1, 1), True),)
    )
    work = WorkFacts(resolved_at=TUESDAY_10, minutes=5, doc_reference="Pomoč 4.2")

    assert [r.code for r in final_decision(facts, work, PolicyParameters(), set_up).reasons] == [
        "P-IN-DOCS"
    ]
    assert provisional_decision(facts, PolicyParameters(), set_up).decision == "free"


def test_a_new_program_is_named_first_at_submission_and_short_usage_first_at_resolution() -> None:
    facts = TicketFacts("portal", TUESDAY_10, ANA, "program_usage", "Plače")
    recent = Onboarding(ANA, "Plače", "onboarding", TUESDAY_10.date() - timedelta(days=10), True)
    inputs = PolicyInputs(onboarding=(recent,))
    work = WorkFacts(resolved_at=TUESDAY_10 + timedelta(hours=1), minutes=5)
    params = PolicyParameters()

    provisional = provisional_decision(facts, params, inputs)
    final = final_decision(facts, work, params, inputs)

    assert [r.code for r in provisional.reasons] == ["F-NEW-PROGRAM", "F-SHORT-USAGE"]
    assert [r.code for r in final.reasons] == ["F-SHORT-USAGE", "F-NEW-PROGRAM"]


def test_a_reason_writes_its_dates_with_babel_in_each_language() -> None:
    facts = TicketFacts("portal", TUESDAY_10, ANA, "program_usage", "Plače")
    seminar = Onboarding(ANA, "Plače", "seminar", date(2026, 11, 3), True)
    hit = RULES["F-NEW-PROGRAM"](facts, PolicyInputs(onboarding=(seminar,)), PolicyParameters())

    assert hit == RuleHit(
        code="F-NEW-PROGRAM",
        effect="free",
        explanation="You are starting with Plače: a seminar on 3 November 2026.",
        explanation_sl="Začenjate delo s programom Plače: po seminarju 3. november 2026.",
    )


def test_a_description_follows_the_parameters_in_force() -> None:
    longer = replace(PolicyParameters(), short_help_minutes=20, version="test")
    described = {d.code: d for d in describe_rules(longer)}

    assert "longer than 20 minutes" in described["P-COMPLEX"].en
    assert "več kot 20 minut" in described["P-COMPLEX"].sl


def test_a_rule_that_reads_something_no_decision_has_is_refused_when_declared() -> None:
    catalog = Catalog()
    declare = catalog.rule(
        "P-WEATHER",
        "paid",
        stages=("final",),
        description=Texts(en="Rain is paid.", sl="Dež je plačljiv."),
        reasons={"rain": Texts(en="It rained.", sl="Deževalo je.")},
    )

    def rule_weather(weather: str) -> RuleHit | None:
        return None

    with pytest.raises(TypeError, match="P-WEATHER"):
        declare(rule_weather)


def test_a_code_is_declared_once() -> None:
    catalog = Catalog()
    words = Texts(en="Paid.", sl="Plačljivo.")
    catalog.declare("P-ONCE", "paid", stages=("final",), description=words, reasons={})

    with pytest.raises(ValueError, match="twice"):
        catalog.declare("P-ONCE", "paid", stages=("final",), description=words, reasons={})
