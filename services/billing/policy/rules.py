"""The support policy's rules (seed 001, docs/product.md), each declared once: code, effect,
stages, the parameters it reads, its description and reasons in English and Slovenian, and the
pure function that judges it (services/billing/policy/declaring.py says how).

The order of the declarations is the order a decision names its reasons in, and the order
`GET /api/billing/rules` lists the rules in. Longer than most modules because every rule's texts
in both languages sit here with it; split by effect it would only scatter one catalogue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts.common import RuleHit
from services.billing.policy.declaring import BOTH, FINAL, Catalog, Texts
from services.billing.policy.facts import (
    Onboarding,
    PolicyInputs,
    PolicyParameters,
    TicketFacts,
    WorkFacts,
)

POLICY = Catalog()
"""Every rule of the policy in force, in declaration order."""

_HOURS = ("timezone", "work_start", "work_end", "working_weekdays")


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


@POLICY.rule(
    "R-ARREARS",
    "refused",
    stages=BOTH,
    description=Texts(
        en="Help is not given while the organization has overdue unpaid obligations "
        "(the standing the ERP reports for the moment in question).",
        sl="Pomoči ne nudimo, dokler ima podjetje neporavnane zapadle obveznosti (po stanju, "
        "ki ga za ta trenutek sporoči ERP).",
    ),
    reasons={
        "arrears": Texts(
            en="Your organization has overdue unpaid obligations; help resumes once they are "
            "settled.",
            sl="Vaše podjetje ima neporavnane zapadle obveznosti; pomoč bo spet mogoča, ko bodo "
            "poravnane.",
        )
    },
)
def rule_arrears(inputs: PolicyInputs) -> RuleHit | None:
    """R-ARREARS: the organization has unpaid obligations."""
    if inputs.standing is None or not inputs.standing.has_unpaid_obligations:
        return None
    return rule_arrears.hit("arrears")


@POLICY.rule(
    "R-NOT-ONBOARDED",
    "refused",
    stages=BOTH,
    description=Texts(
        en="Help is not given to a person whom we did not onboard for the program the "
        "question is about.",
        sl="Pomoči ne nudimo osebi, ki je pri nas nismo uvedli v program, na katerega se "
        "nanaša vprašanje.",
    ),
    reasons={
        "not onboarded": Texts(
            en="The person who asked was not onboarded by us for {program}.",
            sl="Oseba, ki je oddala zahtevek, pri nas ni bila uvedena v program {program}.",
        )
    },
)
def rule_not_onboarded(facts: TicketFacts, inputs: PolicyInputs) -> RuleHit | None:
    """R-NOT-ONBOARDED: the person was not onboarded for the program the question is about.

    Judged only when the question names a program and the training system has records of the
    organization; with no records at all nothing is known about anyone's onboarding, and
    P-NO-SETUP makes the help paid instead of refusing it on missing data."""
    if facts.program is None or not inputs.onboarding or _person_onboarded(facts, inputs):
        return None
    return rule_not_onboarded.hit("not onboarded", program=facts.program)


@POLICY.rule(
    "R-OUTSIDE-HOURS",
    "refused",
    stages=BOTH,
    # At submission the rule defers instead of refusing: provisional_decision asks
    # rule_outside_hours_at_submission, which also says until when.
    judged_at=FINAL,
    parameters=_HOURS,
    description=Texts(
        en="Help is given in working hours, Monday to Friday "
        "{params.work_start:%H:%M}-{params.work_end:%H:%M} Ljubljana time, except on public "
        "holidays, unless agreed in advance. A ticket submitted outside working hours is not "
        "refused: it waits for the next working period. Help given outside working hours "
        "without an arrangement made in advance is refused.",
        sl="Pomoč nudimo v delovnem času, od ponedeljka do petka med "
        "{params.work_start:%H.%M} in {params.work_end:%H.%M} po ljubljanskem času, razen ob "
        "praznikih, če ni vnaprej dogovorjeno drugače. Zahtevek, oddan izven delovnega časa, ni "
        "zavrnjen: počaka na naslednje delovno obdobje. Pomoč, dana izven delovnega časa brez "
        "predhodnega dogovora, je zavrnjena.",
    ),
    reasons={
        "deferred": Texts(
            en="Submitted outside working hours (Monday to Friday "
            "{params.work_start:%H:%M}-{params.work_end:%H:%M}, Ljubljana time, public holidays "
            "excluded); it waits for the next working period, which starts on {start:moment}.",
            sl="Oddan izven delovnega časa (od ponedeljka do petka "
            "{params.work_start:%H.%M}-{params.work_end:%H.%M} po ljubljanskem času, razen ob "
            "praznikih); na vrsti bo {start:moment}.",
        ),
        "refused": Texts(
            en="Help was given outside working hours without an arrangement made in advance.",
            sl="Pomoč je bila dana izven delovnega časa brez predhodnega dogovora.",
        ),
    },
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
    return rule_outside_hours_at_resolution.hit("refused")


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
    hit = rule_outside_hours_at_resolution.hit(
        "deferred", effect="deferred", params=params, start=start.astimezone(calendar.zone)
    )
    return hit, start


# --- paid ---------------------------------------------------------------------------------------


@POLICY.rule(
    "P-CHANNEL",
    "paid",
    stages=BOTH,
    description=Texts(
        en="Help is paid when the request did not come through the portal (by phone or e-mail).",
        sl="Pomoč je plačljiva, če zahtevek ni bil oddan prek portala (po telefonu ali e-pošti).",
    ),
    reasons={
        "phone": Texts(
            en="Submitted by phone, not through the portal.",
            sl="Zahtevek je bil oddan po telefonu, ne prek portala.",
        ),
        "email": Texts(
            en="Submitted by e-mail, not through the portal.",
            sl="Zahtevek je bil oddan po e-pošti, ne prek portala.",
        ),
    },
)
def rule_channel(facts: TicketFacts) -> RuleHit | None:
    """P-CHANNEL: not submitted through the portal."""
    if facts.channel == "portal":
        return None
    return rule_channel.hit(facts.channel)


@POLICY.rule(
    "P-NO-SETUP",
    "paid",
    stages=BOTH,
    description=Texts(
        en="Help is paid when the organization had no onboarding or its settings are not "
        "configured (new colleagues included).",
        sl="Pomoč je plačljiva, če podjetje ni imelo uvajanja ali nima urejenih nastavitev "
        "(tudi za nove sodelavce).",
    ),
    reasons={
        "no onboarding": Texts(
            en="We have no record of onboarding for your organization.",
            sl="Za vaše podjetje nimamo evidentiranega uvajanja.",
        ),
        "not configured": Texts(
            en="Your organization's program settings were not configured at onboarding.",
            sl="Nastavitve programa v vašem podjetju ob uvajanju niso bile urejene.",
        ),
    },
)
def rule_no_setup(facts: TicketFacts, inputs: PolicyInputs) -> RuleHit | None:
    """P-NO-SETUP: the organization had no onboarding, or its settings are not configured."""
    if not inputs.onboarding:
        return rule_no_setup.hit("no onboarding")
    if not any(o.organization_setup_done for o in inputs.onboarding):
        return rule_no_setup.hit("not configured")
    return None


@POLICY.rule(
    "P-IN-DOCS",
    "paid",
    stages=FINAL,
    description=Texts(
        en="Help is paid when the answer is in the online help or in the e-newsletter; the "
        "consultant names the article.",
        sl="Pomoč je plačljiva, če je odgovor v spletni pomoči ali v e-novicah; svetovalec "
        "navede članek.",
    ),
    reasons={
        "in docs": Texts(
            en="The answer is in the documentation: {article}.",
            sl="Odgovor je v dokumentaciji: {article}.",
        )
    },
)
def rule_in_docs(work: WorkFacts) -> RuleHit | None:
    """P-IN-DOCS: the answer is in the online help or the e-newsletter (the article is named)."""
    if not work.doc_reference:
        return None
    return rule_in_docs.hit("in docs", article=work.doc_reference)


@POLICY.rule(
    "P-COMPLEX",
    "paid",
    stages=FINAL,
    parameters=("short_help_minutes",),
    description=Texts(
        en="Help is paid when the answer takes longer than {params.short_help_minutes} minutes "
        "or needs training (individual, at a seminar or by phone).",
        sl="Pomoč je plačljiva, če odgovor vzame več kot {params.short_help_minutes} minut ali "
        "zahteva izobraževanje (individualno, na seminarju ali po telefonu).",
    ),
    reasons={
        "training": Texts(
            en="The answer needed training.",
            sl="Za odgovor je bilo potrebno izobraževanje.",
        ),
        "long": Texts(
            en="The answer took {minutes} minutes, more than {params.short_help_minutes}.",
            sl="Odgovor je vzel {minutes} minut, več kot {params.short_help_minutes}.",
        ),
    },
)
def rule_complex(work: WorkFacts, params: PolicyParameters) -> RuleHit | None:
    """P-COMPLEX: longer than the short-help limit, or training was needed."""
    if work.training:
        return rule_complex.hit("training")
    if work.minutes > params.short_help_minutes:
        return rule_complex.hit("long", minutes=work.minutes, params=params)
    return None


@POLICY.rule(
    "P-LEGISLATION",
    "paid",
    stages=BOTH,
    parameters=("regulation_topics",),
    description=Texts(
        en="Help about legislation (regulations) or about organizing the business is paid.",
        sl="Pomoč glede zakonodaje (predpisov) ali organizacije poslovanja je plačljiva.",
    ),
    reasons={
        "regulation": Texts(
            en="The question is about legislation or about organizing the business.",
            sl="Vprašanje se nanaša na zakonodajo ali na organizacijo poslovanja.",
        )
    },
)
def rule_legislation(facts: TicketFacts, params: PolicyParameters) -> RuleHit | None:
    """P-LEGISLATION: any help about legislation or about organizing the business."""
    if facts.topic not in params.regulation_topics:
        return None
    return rule_legislation.hit("regulation")


@POLICY.rule(
    "P-DATA-FIX",
    "paid",
    stages=BOTH,
    description=Texts(
        en="Help is paid when the request requires correcting data.",
        sl="Pomoč je plačljiva, če zahtevek zahteva popravek podatkov.",
    ),
    reasons={
        "data fix": Texts(
            en="The request requires correcting data.",
            sl="Zahtevek zahteva popravek podatkov.",
        )
    },
)
def rule_data_fix(facts: TicketFacts, work: WorkFacts | None) -> RuleHit | None:
    """P-DATA-FIX: the request requires correcting data (asked for, or done at resolution)."""
    if not (facts.topic == "data_correction" or (work is not None and work.data_correction)):
        return None
    return rule_data_fix.hit("data fix")


@POLICY.rule(
    "P-REMOTE",
    "paid",
    stages=FINAL,
    description=Texts(
        en="Help is paid when it requires a remote connection.",
        sl="Pomoč je plačljiva, če zahteva povezavo na daljavo.",
    ),
    reasons={
        "remote": Texts(
            en="The request required a remote connection.",
            sl="Za rešitev je bila potrebna povezava na daljavo.",
        )
    },
)
def rule_remote(work: WorkFacts) -> RuleHit | None:
    """P-REMOTE: a remote connection was needed."""
    if not work.remote_session:
        return None
    return rule_remote.hit("remote")


@POLICY.rule(
    "P-REPEAT",
    "paid",
    stages=BOTH,
    parameters=("repeat_similarity",),
    description=Texts(
        en="Help is paid for the same error or the same question again, despite clear "
        "earlier instructions visible in the ticket history; the decision names the "
        "earlier ticket.",
        sl="Pomoč je plačljiva pri ponovljeni enaki napaki ali enakem vprašanju kljub jasnim "
        "predhodnim navodilom, ki so razvidna iz zgodovine zahtevkov; odločitev navede "
        "prejšnji zahtevek.",
    ),
    reasons={
        "own": Texts(
            en='The same question was answered before in ticket no. {number} ("{subject}"), '
            "which you received clear instructions in.",
            sl="Enako vprašanje ste že zastavili v zahtevku št. {number} (»{subject}«), kjer so "
            "bila dana jasna navodila.",
        ),
        "colleague's": Texts(
            en='The same question was answered before in ticket no. {number} ("{subject}"), '
            "which your organization received clear instructions in.",
            sl="Enako vprašanje je vaše podjetje že zastavilo v zahtevku št. {number} "
            "(»{subject}«), kjer so bila dana jasna navodila.",
        ),
    },
)
def rule_repeat(inputs: PolicyInputs) -> RuleHit | None:
    """P-REPEAT: the same question or error again, visible in the organization's earlier tickets
    (the earlier ticket is found by `repeat_similarity`, services/billing/similarity.py)."""
    earlier = inputs.earlier
    if earlier is None:
        return None
    return rule_repeat.hit(
        "own" if earlier.same_requester else "colleague's",
        number=earlier.number,
        subject=earlier.subject,
    )


@POLICY.rule(
    "P-OTHER-REMOTE",
    "paid",
    stages=FINAL,
    description=Texts(
        en="Other remote services, not tied to how the program works, are paid.",
        sl="Druge storitve na daljavo, ki niso vezane na delovanje programa, so plačljive.",
    ),
    reasons={
        "other remote": Texts(
            en="It was a remote service not tied to how the program works.",
            sl="Šlo je za storitev na daljavo, ki ni vezana na delovanje programa.",
        )
    },
)
def rule_other_remote(work: WorkFacts) -> RuleHit | None:
    """P-OTHER-REMOTE: another remote service, not tied to how the program works."""
    if not work.other_remote_service:
        return None
    return rule_other_remote.hit("other remote")


NO_FREE_RULE = POLICY.declare(
    "P-NO-FREE-RULE",
    "paid",
    stages=FINAL,
    description=Texts(
        en="At resolution, help that meets no free-help rule is paid.",
        sl="Ob rešitvi je pomoč, za katero ne velja nobeno pravilo brezplačne pomoči, plačljiva.",
    ),
    reasons={
        "no free rule": Texts(
            en="No free-help rule applies to the help given.",
            sl="Za dano pomoč ne velja nobeno pravilo brezplačne pomoči.",
        )
    },
).hit("no free rule")
"""The decisions' own guard (services/billing/policy/decisions.py): no function judges it."""


# --- free ---------------------------------------------------------------------------------------


@POLICY.rule(
    "F-SHORT-USAGE",
    "free",
    stages=BOTH,
    parameters=("short_help_minutes", "regulation_topics"),
    description=Texts(
        en="Short help of at most {params.short_help_minutes} minutes about using the programs "
        "(not about regulations or organizing the business) is free.",
        sl="Kratka pomoč, največ {params.short_help_minutes} minut, pri uporabi programov (ne "
        "glede predpisov ali organizacije poslovanja) je brezplačna.",
    ),
    reasons={
        "expected": Texts(
            en="A question about using the programs, through the portal; the final decision at "
            "resolution depends on the time spent (free up to {params.short_help_minutes} "
            "minutes) and the kind of help.",
            sl="Vprašanje o uporabi programov, oddano prek portala; končna odločitev ob rešitvi "
            "je odvisna od porabljenega časa (brezplačno do {params.short_help_minutes} minut) "
            "in vrste pomoči.",
        ),
        "short": Texts(
            en="Short help about using the programs ({minutes} minutes).",
            sl="Kratka pomoč pri uporabi programov ({minutes} minut).",
        ),
    },
)
def rule_short_usage(
    facts: TicketFacts, work: WorkFacts | None, params: PolicyParameters
) -> RuleHit | None:
    """F-SHORT-USAGE: short help about using the programs (not regulations or business
    organization); at submission, expected while no paid rule applies."""
    if facts.topic in params.regulation_topics:
        return None
    if work is None:
        return rule_short_usage.hit("expected", params=params)
    if work.minutes > params.short_help_minutes:
        return None
    return rule_short_usage.hit("short", minutes=work.minutes)


@POLICY.rule(
    "F-NEW-PROGRAM",
    "free",
    stages=BOTH,
    parameters=("new_program_window_days",),
    # At submission that the person is new to the program is known, while short usage is
    # only expected: the certain reason comes first.
    leads_at=("provisional",),
    description=Texts(
        en="Help is free for users starting with a new program who had onboarding or "
        "attended a seminar on it in the last {params.new_program_window_days} days.",
        sl="Pomoč je brezplačna za uporabnike, ki začenjajo delo z novim programom in so "
        "imeli uvajanje ali obiskali seminar v zadnjih {params.new_program_window_days} dneh.",
    ),
    reasons={
        "onboarding": Texts(
            en="You are starting with {program}: onboarding on {on:day}.",
            sl="Začenjate delo s programom {program}: po uvajanju {on:day}.",
        ),
        "seminar": Texts(
            en="You are starting with {program}: a seminar on {on:day}.",
            sl="Začenjate delo s programom {program}: po seminarju {on:day}.",
        ),
    },
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
    return rule_new_program.hit(latest.kind, program=facts.program, on=latest.completed_on)
