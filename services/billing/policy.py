"""The vendor's support policy (seed 001, docs/product.md): pure rules, each with a reason in words.

Every rule is a function of what is known about the ticket (and, at resolution, about the work) and
returns a `RuleHit` or None. Decisions combine them: a refusal rule wins over a paid rule, a paid
rule over a free rule; at resolution a ticket that meets no free rule is paid, and says so.
Thresholds and windows are parameters of a named, versioned policy (`PolicyParameters`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from contracts.common import Channel, Decision, RuleHit, Topic
from services.billing.working_time import WorkingCalendar
from services.runtime.local_time import format_day, format_moment


@dataclass(frozen=True)
class PolicyParameters:
    """Named, versioned policy inputs; a change of any value gets a new `version`."""

    version: str = "2026.11.1"
    timezone: str = "Europe/Ljubljana"
    work_start: time = time(8, 0)
    work_end: time = time(16, 0)
    working_weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    short_help_minutes: int = 15
    """F-SHORT-USAGE up to this many minutes; P-COMPLEX beyond."""
    new_program_window_days: int = 90
    """F-NEW-PROGRAM: how long after onboarding (or a seminar) a program counts as new."""
    repeat_similarity: float = 0.35
    """P-REPEAT: trigram similarity of the texts from which an earlier ticket is "the same"."""
    regulation_topics: frozenset[str] = frozenset({"legislation", "business_organization"})

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            timezone=self.timezone,
            start=self.work_start,
            end=self.work_end,
            weekdays=self.working_weekdays,
        )


# --- what the rules look at -------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFacts:
    """What is known about a ticket when it is created."""

    channel: Channel
    submitted_at: datetime
    requester_id: uuid.UUID | None = None
    topic: Topic = "other"
    program: str | None = None


@dataclass(frozen=True)
class Standing:
    """The organization's account standing from the ERP, as of a moment."""

    has_unpaid_obligations: bool
    as_of: datetime


@dataclass(frozen=True)
class Onboarding:
    """A person onboarded (or at a seminar) for a program, from the training system."""

    user_id: uuid.UUID
    program: str
    kind: Literal["onboarding", "seminar"]
    completed_on: date
    organization_setup_done: bool


@dataclass(frozen=True)
class Arrangement:
    """A prior arrangement for help outside working hours."""

    valid_from: datetime
    valid_until: datetime
    agreed_by: str

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment < self.valid_until


@dataclass(frozen=True)
class EarlierTicket:
    """The same organization's earlier ticket that looks like the same question."""

    ticket_id: uuid.UUID
    number: int
    subject: str
    similarity: float
    same_requester: bool


@dataclass(frozen=True)
class PolicyInputs:
    """What other systems told us about the organization and the person (as known at the time)."""

    standing: Standing | None = None
    onboarding: tuple[Onboarding, ...] = ()
    """All the organization's records; empty when the training system has sent none."""
    arrangements: tuple[Arrangement, ...] = ()
    earlier: EarlierTicket | None = None
    """The most similar earlier ticket, if any reaches the threshold."""


@dataclass(frozen=True)
class InputsHistory:
    """An organization's recorded inputs in arrival order, each with the moment it became
    true: a standing from its `as_of`, an onboarding record from its `as_of`, an arrangement
    from when it was recorded."""

    standing: tuple[Standing, ...] = ()
    onboarding: tuple[tuple[datetime, Onboarding], ...] = ()
    arrangements: tuple[tuple[datetime, Arrangement], ...] = ()

    def in_force(self, at: datetime) -> PolicyInputs:
        """The inputs true at `at`, whatever order they arrived in: the standing with the
        latest `as_of` not after `at` (of equal ones, the last to arrive), the onboarding
        records true by then, and the arrangements agreed by then."""
        standing = None
        for candidate in self.standing:
            if candidate.as_of <= at and (standing is None or candidate.as_of >= standing.as_of):
                standing = candidate
        return PolicyInputs(
            standing=standing,
            onboarding=tuple(record for true_from, record in self.onboarding if true_from <= at),
            arrangements=tuple(a for agreed_at, a in self.arrangements if agreed_at <= at),
        )


@dataclass(frozen=True)
class WorkFacts:
    """What the consultant recorded at resolution."""

    resolved_at: datetime
    minutes: int
    remote_session: bool = False
    data_correction: bool = False
    training: bool = False
    doc_reference: str | None = None
    other_remote_service: bool = False


@dataclass(frozen=True)
class PolicyDecision:
    decision: Decision
    reasons: tuple[RuleHit, ...]
    policy_version: str
    deferred_until: datetime | None = None


def _hit(code: str, effect: str, english: str, slovenian: str) -> RuleHit:
    return RuleHit(code=code, effect=effect, explanation=english, explanation_sl=slovenian)


def _person_onboarded(facts: TicketFacts, inputs: PolicyInputs) -> tuple[Onboarding, ...]:
    if facts.program is None or facts.requester_id is None:
        return ()
    wanted = facts.program.casefold()
    return tuple(
        o
        for o in inputs.onboarding
        if o.user_id == facts.requester_id and o.program.casefold() == wanted
    )


# --- refusals ---------------------------------------------------------------------------------


def rule_arrears(inputs: PolicyInputs) -> RuleHit | None:
    """R-ARREARS: the organization has unpaid obligations."""
    if inputs.standing is None or not inputs.standing.has_unpaid_obligations:
        return None
    return _hit(
        "R-ARREARS",
        "refused",
        "Your organization has overdue unpaid obligations; help resumes once they are settled.",
        "Vaše podjetje ima neporavnane zapadle obveznosti; pomoč bo spet mogoča, ko bodo "
        "poravnane.",
    )


def rule_not_onboarded(facts: TicketFacts, inputs: PolicyInputs) -> RuleHit | None:
    """R-NOT-ONBOARDED: the person was not onboarded for the program the question is about.

    Judged only when the question names a program and the training system has records of the
    organization; with no records at all nothing is known about anyone's onboarding, and
    P-NO-SETUP makes the help paid instead of refusing it on missing data."""
    if facts.program is None or not inputs.onboarding or _person_onboarded(facts, inputs):
        return None
    return _hit(
        "R-NOT-ONBOARDED",
        "refused",
        f"The person who asked was not onboarded by us for {facts.program}.",
        f"Oseba, ki je oddala zahtevek, pri nas ni bila uvedena v program {facts.program}.",
    )


def rule_outside_hours_at_submission(
    facts: TicketFacts, params: PolicyParameters, inputs: PolicyInputs | None = None
) -> tuple[RuleHit | None, datetime | None]:
    """R-OUTSIDE-HOURS at submission: not a refusal; the ticket waits for the next working
    period (returned as the second value), unless an arrangement covers the moment."""
    calendar = params.calendar()
    if calendar.is_working_time(facts.submitted_at):
        return None, None
    if inputs is not None and any(a.covers(facts.submitted_at) for a in inputs.arrangements):
        return None, None
    start = calendar.next_working_start(facts.submitted_at)
    return (
        _hit(
            "R-OUTSIDE-HOURS",
            "deferred",
            "Submitted outside working hours (Monday to Friday "
            f"{params.work_start:%H:%M}-{params.work_end:%H:%M}, Ljubljana time, public holidays "
            "excluded); it waits for the next working period, which starts on "
            f"{format_moment(start, 'en', calendar.zone)}.",
            f"Oddan izven delovnega časa (od ponedeljka do petka {params.work_start:%H.%M}-"
            f"{params.work_end:%H.%M} po ljubljanskem času, razen ob praznikih); na vrsti bo "
            f"{format_moment(start, 'sl', calendar.zone)}.",
        ),
        start,
    )


def rule_outside_hours_at_resolution(
    work: WorkFacts, inputs: PolicyInputs, params: PolicyParameters
) -> RuleHit | None:
    """R-OUTSIDE-HOURS at resolution: help given outside working hours without an arrangement
    made in advance is refused."""
    if params.calendar().is_working_time(work.resolved_at):
        return None
    if any(a.covers(work.resolved_at) for a in inputs.arrangements):
        return None
    return _hit(
        "R-OUTSIDE-HOURS",
        "refused",
        "Help was given outside working hours without an arrangement made in advance.",
        "Pomoč je bila dana izven delovnega časa brez predhodnega dogovora.",
    )


# --- paid ---------------------------------------------------------------------------------------


def rule_channel(facts: TicketFacts) -> RuleHit | None:
    """P-CHANNEL: not submitted through the portal."""
    if facts.channel == "portal":
        return None
    how = {"phone": ("by phone", "po telefonu"), "email": ("by e-mail", "po e-pošti")}
    english, slovenian = how.get(facts.channel, (facts.channel, facts.channel))
    return _hit(
        "P-CHANNEL",
        "paid",
        f"Submitted {english}, not through the portal.",
        f"Zahtevek je bil oddan {slovenian}, ne prek portala.",
    )


def rule_no_setup(facts: TicketFacts, inputs: PolicyInputs) -> RuleHit | None:
    """P-NO-SETUP: the organization had no onboarding, or its settings are not configured."""
    if not inputs.onboarding:
        return _hit(
            "P-NO-SETUP",
            "paid",
            "We have no record of onboarding for your organization.",
            "Za vaše podjetje nimamo evidentiranega uvajanja.",
        )
    if not any(o.organization_setup_done for o in inputs.onboarding):
        return _hit(
            "P-NO-SETUP",
            "paid",
            "Your organization's program settings were not configured at onboarding.",
            "Nastavitve programa v vašem podjetju ob uvajanju niso bile urejene.",
        )
    return None


def rule_in_docs(work: WorkFacts) -> RuleHit | None:
    """P-IN-DOCS: the answer is in the online help or the e-newsletter (the article is named)."""
    if not work.doc_reference:
        return None
    return _hit(
        "P-IN-DOCS",
        "paid",
        f"The answer is in the documentation: {work.doc_reference}.",
        f"Odgovor je v dokumentaciji: {work.doc_reference}.",
    )


def rule_complex(work: WorkFacts, params: PolicyParameters) -> RuleHit | None:
    """P-COMPLEX: longer than the short-help limit, or training was needed."""
    if work.training:
        return _hit(
            "P-COMPLEX",
            "paid",
            "The answer needed training.",
            "Za odgovor je bilo potrebno izobraževanje.",
        )
    if work.minutes > params.short_help_minutes:
        return _hit(
            "P-COMPLEX",
            "paid",
            f"The answer took {work.minutes} minutes, more than {params.short_help_minutes}.",
            f"Odgovor je vzel {work.minutes} minut, več kot {params.short_help_minutes}.",
        )
    return None


def rule_legislation(facts: TicketFacts, params: PolicyParameters) -> RuleHit | None:
    """P-LEGISLATION: any help about legislation or about organizing the business."""
    if facts.topic not in params.regulation_topics:
        return None
    return _hit(
        "P-LEGISLATION",
        "paid",
        "The question is about legislation or about organizing the business.",
        "Vprašanje se nanaša na zakonodajo ali na organizacijo poslovanja.",
    )


def rule_data_fix(facts: TicketFacts, work: WorkFacts | None) -> RuleHit | None:
    """P-DATA-FIX: the request requires correcting data (asked for, or done at resolution)."""
    if not (facts.topic == "data_correction" or (work is not None and work.data_correction)):
        return None
    return _hit(
        "P-DATA-FIX",
        "paid",
        "The request requires correcting data.",
        "Zahtevek zahteva popravek podatkov.",
    )


def rule_remote(work: WorkFacts) -> RuleHit | None:
    """P-REMOTE: a remote connection was needed."""
    if not work.remote_session:
        return None
    return _hit(
        "P-REMOTE",
        "paid",
        "The request required a remote connection.",
        "Za rešitev je bila potrebna povezava na daljavo.",
    )


def rule_repeat(inputs: PolicyInputs) -> RuleHit | None:
    """P-REPEAT: the same question or error again, visible in the organization's earlier tickets."""
    earlier = inputs.earlier
    if earlier is None:
        return None
    who = "you" if earlier.same_requester else "your organization"
    kdo = "ste" if earlier.same_requester else "je vaše podjetje"
    return _hit(
        "P-REPEAT",
        "paid",
        f"The same question was answered before in ticket no. {earlier.number} "
        f'("{earlier.subject}"), which {who} received clear instructions in.',
        f"Enako vprašanje {kdo} že zastavili v zahtevku št. {earlier.number} "
        f"(»{earlier.subject}«), kjer so bila dana jasna navodila.",
    )


def rule_other_remote(work: WorkFacts) -> RuleHit | None:
    """P-OTHER-REMOTE: another remote service, not tied to how the program works."""
    if not work.other_remote_service:
        return None
    return _hit(
        "P-OTHER-REMOTE",
        "paid",
        "It was a remote service not tied to how the program works.",
        "Šlo je za storitev na daljavo, ki ni vezana na delovanje programa.",
    )


# --- free ---------------------------------------------------------------------------------------


def rule_short_usage(
    facts: TicketFacts, work: WorkFacts | None, params: PolicyParameters
) -> RuleHit | None:
    """F-SHORT-USAGE: short help about using the programs (not regulations or business
    organization); at submission, expected while no paid rule applies."""
    if facts.topic in params.regulation_topics:
        return None
    if work is None:
        return _hit(
            "F-SHORT-USAGE",
            "free",
            "A question about using the programs, through the portal; the final decision at "
            f"resolution depends on the time spent (free up to {params.short_help_minutes} "
            "minutes) and the kind of help.",
            "Vprašanje o uporabi programov, oddano prek portala; končna odločitev ob rešitvi je "
            f"odvisna od porabljenega časa (brezplačno do {params.short_help_minutes} minut) in "
            "vrste pomoči.",
        )
    if work.minutes > params.short_help_minutes:
        return None
    return _hit(
        "F-SHORT-USAGE",
        "free",
        f"Short help about using the programs ({work.minutes} minutes).",
        f"Kratka pomoč pri uporabi programov ({work.minutes} minut).",
    )


def rule_new_program(
    facts: TicketFacts, inputs: PolicyInputs, params: PolicyParameters
) -> RuleHit | None:
    """F-NEW-PROGRAM: the person is starting with a program they were onboarded for (or attended
    a seminar about) within the new-program window."""
    since = facts.submitted_at.date() - timedelta(days=params.new_program_window_days)
    recent = [o for o in _person_onboarded(facts, inputs) if o.completed_on >= since]
    if not recent:
        return None
    latest = max(recent, key=lambda o: o.completed_on)
    what = "onboarding" if latest.kind == "onboarding" else "a seminar"
    kaj = "uvajanju" if latest.kind == "onboarding" else "seminarju"
    return _hit(
        "F-NEW-PROGRAM",
        "free",
        f"You are starting with {facts.program}: {what} on "
        f"{format_day(latest.completed_on, 'en')}.",
        f"Začenjate delo s programom {facts.program}: po {kaj} "
        f"{format_day(latest.completed_on, 'sl')}.",
    )


NO_FREE_RULE = _hit(
    "P-NO-FREE-RULE",
    "paid",
    "No free-help rule applies to the help given.",
    "Za dano pomoč ne velja nobeno pravilo brezplačne pomoči.",
)


# --- decisions ----------------------------------------------------------------------------------


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


def provisional_decision(
    facts: TicketFacts, params: PolicyParameters, inputs: PolicyInputs | None = None
) -> PolicyDecision:
    """Decide, at creation, whether help is expected to be free, paid or refused, and why."""
    inputs = inputs or PolicyInputs()
    deferral, deferred_until = rule_outside_hours_at_submission(facts, params, inputs)
    decision, reasons = combine(
        [rule_arrears(inputs), rule_not_onboarded(facts, inputs)],
        [
            rule_channel(facts),
            rule_no_setup(facts, inputs),
            rule_legislation(facts, params),
            rule_data_fix(facts, None),
            rule_repeat(inputs),
        ],
        [rule_new_program(facts, inputs, params), rule_short_usage(facts, None, params)],
        final=False,
    )
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
    decision, reasons = combine(
        [
            rule_arrears(inputs),
            rule_not_onboarded(facts, inputs),
            rule_outside_hours_at_resolution(work, inputs, params),
        ],
        [
            rule_channel(facts),
            rule_no_setup(facts, inputs),
            rule_in_docs(work),
            rule_complex(work, params),
            rule_legislation(facts, params),
            rule_data_fix(facts, work),
            rule_remote(work),
            rule_repeat(inputs),
            rule_other_remote(work),
        ],
        [rule_short_usage(facts, work, params), rule_new_program(facts, inputs, params)],
        final=True,
    )
    return PolicyDecision(decision, tuple(reasons), params.version)


RULES: dict[str, Callable[..., RuleHit | None]] = {
    "R-ARREARS": rule_arrears,
    "R-NOT-ONBOARDED": rule_not_onboarded,
    "R-OUTSIDE-HOURS": rule_outside_hours_at_resolution,
    "P-CHANNEL": rule_channel,
    "P-NO-SETUP": rule_no_setup,
    "P-IN-DOCS": rule_in_docs,
    "P-COMPLEX": rule_complex,
    "P-LEGISLATION": rule_legislation,
    "P-DATA-FIX": rule_data_fix,
    "P-REMOTE": rule_remote,
    "P-REPEAT": rule_repeat,
    "P-OTHER-REMOTE": rule_other_remote,
    "F-SHORT-USAGE": rule_short_usage,
    "F-NEW-PROGRAM": rule_new_program,
}
"""Every rule of docs/product.md by its code (the documentation and the tests list them from
here)."""


@dataclass(frozen=True)
class RuleDescription:
    """What a rule says, whole, in both languages (for `GET /api/billing/rules`)."""

    code: str
    effect: Literal["refused", "paid", "free"]
    stages: tuple[Literal["provisional", "final"], ...]
    en: str
    sl: str


def describe_rules(params: PolicyParameters) -> list[RuleDescription]:
    """Every rule of the policy in force, with its thresholds, in English and Slovenian."""
    hours_en = f"{params.work_start:%H:%M}-{params.work_end:%H:%M}"
    hours_sl = f"{params.work_start:%H.%M} in {params.work_end:%H.%M}"
    minutes, days = params.short_help_minutes, params.new_program_window_days
    both: tuple[Literal["provisional", "final"], ...] = ("provisional", "final")
    final: tuple[Literal["provisional", "final"], ...] = ("final",)
    return [
        RuleDescription(
            "R-ARREARS",
            "refused",
            both,
            "Help is not given while the organization has overdue unpaid obligations "
            "(the standing the ERP reports for the moment in question).",
            "Pomoči ne nudimo, dokler ima podjetje neporavnane zapadle obveznosti (po stanju, "
            "ki ga za ta trenutek sporoči ERP).",
        ),
        RuleDescription(
            "R-NOT-ONBOARDED",
            "refused",
            both,
            "Help is not given to a person whom we did not onboard for the program the "
            "question is about.",
            "Pomoči ne nudimo osebi, ki je pri nas nismo uvedli v program, na katerega se "
            "nanaša vprašanje.",
        ),
        RuleDescription(
            "R-OUTSIDE-HOURS",
            "refused",
            both,
            f"Help is given in working hours, Monday to Friday {hours_en} Ljubljana time, "
            "except on public holidays, unless agreed in advance. A ticket submitted outside "
            "working hours is not refused: it waits for the next working period. Help given "
            "outside working hours without an arrangement made in advance is refused.",
            f"Pomoč nudimo v delovnem času, od ponedeljka do petka med {hours_sl} po "
            "ljubljanskem času, razen ob praznikih, če ni vnaprej dogovorjeno drugače. Zahtevek, "
            "oddan izven delovnega časa, ni zavrnjen: počaka na naslednje delovno obdobje. "
            "Pomoč, dana izven delovnega časa brez predhodnega dogovora, je zavrnjena.",
        ),
        RuleDescription(
            "P-CHANNEL",
            "paid",
            both,
            "Help is paid when the request did not come through the portal (by phone or e-mail).",
            "Pomoč je plačljiva, če zahtevek ni bil oddan prek portala (po telefonu ali e-pošti).",
        ),
        RuleDescription(
            "P-NO-SETUP",
            "paid",
            both,
            "Help is paid when the organization had no onboarding or its settings are not "
            "configured (new colleagues included).",
            "Pomoč je plačljiva, če podjetje ni imelo uvajanja ali nima urejenih nastavitev "
            "(tudi za nove sodelavce).",
        ),
        RuleDescription(
            "P-IN-DOCS",
            "paid",
            final,
            "Help is paid when the answer is in the online help or in the e-newsletter; the "
            "consultant names the article.",
            "Pomoč je plačljiva, če je odgovor v spletni pomoči ali v e-novicah; svetovalec "
            "navede članek.",
        ),
        RuleDescription(
            "P-COMPLEX",
            "paid",
            final,
            f"Help is paid when the answer takes longer than {minutes} minutes or needs "
            "training (individual, at a seminar or by phone).",
            f"Pomoč je plačljiva, če odgovor vzame več kot {minutes} minut ali zahteva "
            "izobraževanje (individualno, na seminarju ali po telefonu).",
        ),
        RuleDescription(
            "P-LEGISLATION",
            "paid",
            both,
            "Help about legislation (regulations) or about organizing the business is paid.",
            "Pomoč glede zakonodaje (predpisov) ali organizacije poslovanja je plačljiva.",
        ),
        RuleDescription(
            "P-DATA-FIX",
            "paid",
            both,
            "Help is paid when the request requires correcting data.",
            "Pomoč je plačljiva, če zahtevek zahteva popravek podatkov.",
        ),
        RuleDescription(
            "P-REMOTE",
            "paid",
            final,
            "Help is paid when it requires a remote connection.",
            "Pomoč je plačljiva, če zahteva povezavo na daljavo.",
        ),
        RuleDescription(
            "P-REPEAT",
            "paid",
            both,
            "Help is paid for the same error or the same question again, despite clear "
            "earlier instructions visible in the ticket history; the decision names the "
            "earlier ticket.",
            "Pomoč je plačljiva pri ponovljeni enaki napaki ali enakem vprašanju kljub jasnim "
            "predhodnim navodilom, ki so razvidna iz zgodovine zahtevkov; odločitev navede "
            "prejšnji zahtevek.",
        ),
        RuleDescription(
            "P-OTHER-REMOTE",
            "paid",
            final,
            "Other remote services, not tied to how the program works, are paid.",
            "Druge storitve na daljavo, ki niso vezane na delovanje programa, so plačljive.",
        ),
        RuleDescription(
            "P-NO-FREE-RULE",
            "paid",
            final,
            "At resolution, help that meets no free-help rule is paid.",
            "Ob rešitvi je pomoč, za katero ne velja nobeno pravilo brezplačne pomoči, plačljiva.",
        ),
        RuleDescription(
            "F-SHORT-USAGE",
            "free",
            both,
            f"Short help of at most {minutes} minutes about using the programs (not about "
            "regulations or organizing the business) is free.",
            f"Kratka pomoč, največ {minutes} minut, pri uporabi programov (ne glede predpisov "
            "ali organizacije poslovanja) je brezplačna.",
        ),
        RuleDescription(
            "F-NEW-PROGRAM",
            "free",
            both,
            "Help is free for users starting with a new program who had onboarding or "
            f"attended a seminar on it in the last {days} days.",
            "Pomoč je brezplačna za uporabnike, ki začenjajo delo z novim programom in so "
            f"imeli uvajanje ali obiskali seminar v zadnjih {days} dneh.",
        ),
    ]
