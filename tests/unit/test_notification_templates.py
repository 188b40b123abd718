"""Every e-mail notify sends, rendered in both languages: the texts read as intended, the HTML part
says the same as the plain text, and nothing is left that could only fail at send time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import UndefinedError
from pydantic import SecretStr

from contracts.accounts import PasswordResetCompleted, PasswordResetRequested
from contracts.common import Language, Person, RuleHit
from contracts.content import ReleaseAvailable
from contracts.tickets import (
    TicketAccepted,
    TicketClosed,
    TicketDecisionRecorded,
    TicketMessagePosted,
    TicketReopened,
    TicketResolved,
)
from services.billing.policy import (
    POLICY,
    PolicyInputs,
    PolicyParameters,
    Standing,
    TicketFacts,
    WorkFacts,
)
from services.billing.policy.rules import (
    rule_arrears,
    rule_complex,
    rule_remote,
    rule_short_usage,
)
from services.notify import templates
from services.notify.consumers import build_consumer
from services.notify.templates import RenderedEmail
from services.runtime.revocation import REVOCATION_EVENTS

PORTAL = "https://portal.example"
T = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)  # 10.15 in Ljubljana
TID = uuid.UUID("3f61efdc-0591-4da3-91a2-e32794baf6c9")
ORG = uuid.UUID("e9b30804-fdf7-5f02-a95b-e2437b56ea1b")
ANA = Person(user_id=uuid.uuid4(), email="ana.novak@demo.example", display_name="Ana Novak")
MARKO = Person(user_id=uuid.uuid4(), email="marko@podpora.example", display_name="Marko Kovač")
SUBJECT = "Obračun plač se ne zaključi"
COMMON = {"ticket_id": TID, "number": 1042, "org_id": ORG, "requester": ANA, "subject": SUBJECT}
# Reasons as billing's policy words them (both languages), for the decision e-mails.
LJ = ZoneInfo("Europe/Ljubljana")
POLICY_PARAMS = PolicyParameters()
WORK = WorkFacts(resolved_at=T, minutes=25, remote_session=True)
SHORT_USAGE = rule_short_usage(
    TicketFacts("portal", T, ANA.user_id, "program_usage", "Plače"), None, POLICY_PARAMS
)
COMPLEX, REMOTE = rule_complex(WORK, POLICY_PARAMS), rule_remote(WORK)
ARREARS = rule_arrears(PolicyInputs(standing=Standing(True, T)))
# Every value any rule's reason names, to word each reason of every declared rule.
REASON_VALUES = {
    "program": "Plače",
    "start": datetime(2026, 11, 30, 8, 0, tzinfo=LJ),
    "article": "Navodila Plače, pogl. 4.2",
    "minutes": 25,
    "params": POLICY_PARAMS,
    "number": 1017,
    "subject": "Izpis REK obrazca",
    "on": date(2026, 11, 3),
}


def decision(stage: str, verdict: str, *reasons: RuleHit | None) -> TicketDecisionRecorded:
    return TicketDecisionRecorded(
        **COMMON,
        stage=stage,  # type: ignore[arg-type]
        decision=verdict,  # type: ignore[arg-type]
        reasons=tuple(r for r in reasons if r is not None),
        policy_version="2026.11.1",
    )


ACCEPTED = TicketAccepted(**COMMON, consultant=MARKO, accepted_at=T)
MESSAGE = TicketMessagePosted(
    **COMMON,
    message_id=uuid.uuid4(),
    author=MARKO,
    author_role="consultant",
    internal=False,
    body="Ali je v davčni številki presledek?\n\nPreverite šifrant <zaposlenih> & sporočite.",
    posted_at=T,
)
RESOLVED = TicketResolved(
    **COMMON,
    resolved_at=T,
    resolved_by=MARKO.user_id,
    resolution="Popravili smo šifrant zaposlenih.",
    time_spent_minutes=12,
    data_correction=True,
    doc_reference="Navodila Plače, pogl. 4.2",
    consultant=MARKO,
)
REOPENED = TicketReopened(
    **COMMON, reopened_by=ANA, reopened_at=T, reason="Napaka se ponavlja.", consultant=MARKO
)
CLOSED_BY_WINDOW = TicketClosed(**COMMON, closed_at=T, closed_by=None)
CLOSED_BY_ANA = TicketClosed(**COMMON, closed_at=T, closed_by=ANA.user_id)
LINK = PasswordResetRequested(
    user=ANA,
    org_id=ORG,
    purpose="invitation",
    reset_url=SecretStr("https://portal.example/ponastavitev-gesla?token=abc"),
    expires_at=T,
)
CHANGED = PasswordResetCompleted(user=ANA, org_id=ORG, completed_at=T)
RELEASE = ReleaseAvailable(
    release_id=TID,
    org_id=ORG,
    program="Plače",
    version="2026.12",
    released_on=date(2026, 12, 1),
    notes_sl="Nov obračun regresa.",
    notes_en="New holiday-allowance calculation.",
)

# event type -> (render in a language, phrases the Slovenian text has, phrases the English has)
Case = tuple[Callable[[Language], RenderedEmail], list[str], list[str]]
CASES: dict[str, Case] = {
    "TicketDecisionRecorded/received": (
        lambda lang: templates.ticket_received(
            decision("provisional", "free", SHORT_USAGE), portal_url=PORTAL, language=lang
        ),
        ["prejeli smo vaš zahtevek za pomoč št. 1042", "Predvidena obravnava: brezplačna."],
        ["we have received your help request no. 1042", "Expected handling: free of charge."],
    ),
    "TicketDecisionRecorded/paid": (
        lambda lang: templates.policy_decision(
            decision("final", "paid", COMPLEX, REMOTE), portal_url=PORTAL, language=lang
        ),
        [
            "je plačljiva",
            "P-COMPLEX: Odgovor je vzel 25 minut, več kot 15.",
            "P-REMOTE: Za rešitev je bila potrebna povezava na daljavo.",
        ],
        [
            "is paid",
            "P-COMPLEX: The answer took 25 minutes, more than 15.",
            "P-REMOTE: The request required a remote connection.",
        ],
    ),
    "TicketDecisionRecorded/refused": (
        lambda lang: templates.policy_decision(
            decision("final", "refused", ARREARS), portal_url=PORTAL, language=lang
        ),
        ["pomoči žal ne moremo nuditi", "R-ARREARS: Vaše podjetje ima neporavnane zapadle"],
        ["we cannot help you", "R-ARREARS: Your organization has overdue unpaid"],
    ),
    "TicketAccepted": (
        lambda lang: templates.ticket_accepted(ACCEPTED, portal_url=PORTAL, language=lang),
        ["je 24. november 2026 ob 10:15 v reševanje sprejel svetovalec Marko Kovač"],
        ["consultant Marko Kovač took your help request no. 1042", "24 November 2026 at 10:15"],
    ),
    "TicketMessagePosted": (
        lambda lang: templates.consultant_message(MESSAGE, portal_url=PORTAL, language=lang),
        ["svetovalec Marko Kovač vam je", "    Ali je v davčni številki presledek?"],
        ["consultant Marko Kovač wrote to you", "    Ali je v davčni številki presledek?"],
    ),
    "TicketResolved": (
        lambda lang: templates.ticket_resolved(RESOLVED, portal_url=PORTAL, language=lang),
        [
            "je 24. november 2026 ob 10:15 rešil svetovalec",
            "Porabljen čas: 12 min.",
            "ponovno odprete",
        ],
        ["was resolved on 24 November 2026", "Time spent: 12 min.", "reopen the request"],
    ),
    "TicketReopened": (
        lambda lang: templates.ticket_reopened(REOPENED, portal_url=PORTAL, language=lang),
        ["Pozdravljeni, Marko Kovač,", "stranka Ana Novak je", "    Napaka se ponavlja."],
        ["Hello Marko Kovač,", "Ana Novak reopened request no. 1042", "    Napaka se ponavlja."],
    ),
    "TicketClosed": (
        lambda lang: templates.ticket_closed(CLOSED_BY_WINDOW, portal_url=PORTAL, language=lang),
        ["ker ga v predvidenem času po rešitvi niste ponovno odprli"],
        ["was closed because it was not reopened in the time allowed"],
    ),
    "PasswordResetRequested": (
        lambda lang: templates.password_link(LINK, language=lang),
        ["uporabniško ime je vaš e-poštni naslov"],
        ["Your user name is your e-mail address"],
    ),
    "PasswordResetCompleted": (
        lambda lang: templates.password_changed(CHANGED, language=lang),
        ["odjavili iz vseh naprav"],
        ["signed you out on every device"],
    ),
    "ReleaseAvailable": (
        lambda lang: templates.release_available(RELEASE, portal_url=PORTAL, language=lang),
        [
            "nova različica programa Plače, 2026.12, izdana 1. december 2026",
            "Nov obračun regresa.",
            f"{PORTAL}/downloads/{TID}",
            "Izklopite jih v nastavitvah portala",
        ],
        [
            "a new version of Plače, 2026.12, released on 1 December 2026",
            "New holiday-allowance calculation.",
            "Turn them off in the portal's settings",
        ],
    ),
}


@pytest.mark.parametrize("language", ["sl", "en"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_email_renders_in_both_languages_with_its_facts(case: str, language: str) -> None:
    render, slovenian, english = CASES[case]
    email = render(language)  # type: ignore[arg-type]

    for phrase in slovenian if language == "sl" else english:
        assert phrase in email.body, phrase
    assert "\n" not in email.subject and email.subject.strip() == email.subject
    greeting = "Pozdravljeni," if language == "sl" else "Hello"
    assert email.body.startswith(greeting)
    assert email.body.rstrip().endswith("Podpora" if language == "sl" else "Support")
    assert ("Lep pozdrav" in email.body) == (language == "sl")


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_html_part_says_what_the_plain_text_says(case: str) -> None:
    email = CASES[case][0]("sl")

    assert email.html.startswith("<!DOCTYPE html>")
    assert '<html lang="sl">' in email.html
    for line in email.body.splitlines():
        text = line.strip().removeprefix("- ")
        if text:
            assert escape(text) in email.html, text


def test_html_escapes_what_people_typed_and_links_the_portal() -> None:
    email = templates.consultant_message(MESSAGE, portal_url=PORTAL, language="sl")

    assert "Preverite šifrant &lt;zaposlenih&gt; &amp; sporočite." in email.html
    assert "<zaposlenih>" not in email.html
    link = f"{PORTAL}/tickets/{TID}"
    assert f'<a href="{link}">{link}</a>' in email.html
    assert "Na to sporočilo prosimo ne odgovarjajte po e-pošti" in email.body


def test_every_event_notify_emails_about_has_a_rendering_test() -> None:
    consumer = build_consumer(portal_url=PORTAL)
    directory_only = {"UserCreated", "UserLanguageChanged", "UserDeactivated", "UserReactivated"}
    # Every e-mail to one person goes through `queue_emails`; a release's to a whole organization.
    emailed = set(consumer.batch_handlers) | {"ReleaseAvailable"}

    assert set(consumer.handlers) == directory_only | {"ReleaseAvailable"} | REVOCATION_EVENTS
    assert emailed == {case.split("/")[0] for case in CASES}


@pytest.mark.parametrize("language", ["sl", "en"])
def test_every_reason_billing_can_give_reads_in_the_customers_language(
    language: Language,
) -> None:
    """Notify keeps no words of its own for the rules: each reason of each rule billing
    declares reaches the customer as billing worded it, in the customer's language."""
    for declaration in POLICY.declared:
        for variant in declaration.reasons:
            hit = declaration.hit(variant, **REASON_VALUES)
            email = templates.policy_decision(
                decision("final", "paid", hit), portal_url=PORTAL, language=language
            )
            words = hit.explanation_sl if language == "sl" else hit.explanation
            other = hit.explanation if language == "sl" else hit.explanation_sl
            assert f"  - {hit.code}: {words}\n" in email.body, (hit.code, variant)
            assert f"{other}" not in email.body, (hit.code, variant)


def test_a_decision_from_before_slovenian_reasons_gives_the_english_one() -> None:
    """Decisions made before policy 2026.11.1 carry only the English reason; the Slovenian
    e-mail says that rather than nothing (docs/decisions.md)."""
    old = RuleHit(
        code="P-COMPLEX", effect="paid", explanation="The answer took 25 minutes, more than 15."
    )
    email = templates.policy_decision(
        decision("final", "paid", old), portal_url=PORTAL, language="sl"
    )

    assert "  - P-COMPLEX: The answer took 25 minutes, more than 15.\n" in email.body
    assert email.body.startswith("Pozdravljeni, Ana Novak,")


def test_a_refusal_at_submission_does_not_promise_a_place_on_the_waiting_list() -> None:
    email = templates.ticket_received(
        decision("provisional", "refused", ARREARS), portal_url=PORTAL, language="sl"
    )

    assert "Žal vam pri njem pomoči ne moremo nuditi." in email.body
    assert "čakalni listi" not in email.body


def test_closing_by_a_person_reads_differently_from_closing_after_the_window() -> None:
    by_ana = templates.ticket_closed(CLOSED_BY_ANA, portal_url=PORTAL, language="sl")

    assert "je zaključen" in by_ana.body
    assert "niste ponovno odprli" not in by_ana.body


def test_internal_notes_and_free_final_decisions_are_never_rendered_as_emails() -> None:
    note = MESSAGE.model_copy(update={"internal": True})
    with pytest.raises(ValueError, match="consultant's message"):
        templates.consultant_message(note, portal_url=PORTAL, language="sl")
    with pytest.raises(ValueError, match="free help"):
        templates.policy_decision(
            decision("final", "free", SHORT_USAGE), portal_url=PORTAL, language="sl"
        )


def test_a_resolution_without_requester_cannot_be_rendered() -> None:
    early = RESOLVED.model_copy(update={"requester": None})
    with pytest.raises(ValueError, match="not e-mailed"):
        templates.ticket_resolved(early, portal_url=PORTAL, language="sl")


def test_the_policys_own_bilingual_reasons_are_used_when_given() -> None:
    hit = RuleHit(
        code="P-REPEAT",
        effect="paid",
        explanation="The same question was answered before in ticket no. 1017.",
        explanation_sl="Enako vprašanje ste že zastavili v zahtevku št. 1017.",
    )
    event = decision("final", "paid", hit)

    sl = templates.policy_decision(event, portal_url=PORTAL, language="sl")
    en = templates.policy_decision(event, portal_url=PORTAL, language="en")

    assert "P-REPEAT: Enako vprašanje ste že zastavili v zahtevku št. 1017." in sl.body
    assert "P-REPEAT: The same question was answered before in ticket no. 1017." in en.body


def test_every_email_has_a_template_in_each_language() -> None:
    emails = Path(templates.__file__).parent / "emails"
    names = {lang: {p.name for p in (emails / lang).glob("*.txt")} for lang in ("sl", "en")}

    assert names["sl"] == names["en"]
    assert {n.removesuffix(".txt") for n in names["sl"] if not n.startswith("_")} == {
        "ticket_received",
        "policy_decision",
        "ticket_accepted",
        "consultant_message",
        "ticket_resolved",
        "ticket_reopened",
        "ticket_closed",
        "password_link",
        "password_changed",
        "release_available",
    }


def test_a_template_that_names_a_value_it_was_not_given_fails_when_rendered() -> None:
    with pytest.raises(UndefinedError, match="link"):
        templates.render("ticket_accepted", "sl", event=ACCEPTED)


def test_minutes_are_written_as_each_language_writes_numbers() -> None:
    long = RESOLVED.model_copy(update={"time_spent_minutes": 1500})

    sl = templates.ticket_resolved(long, portal_url=PORTAL, language="sl")
    en = templates.ticket_resolved(long, portal_url=PORTAL, language="en")

    assert "Porabljen čas: 1.500 min." in sl.body
    assert "Time spent: 1,500 min." in en.body
