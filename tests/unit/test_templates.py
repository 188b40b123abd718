"""The "ticket received" e-mail, in the requester's language."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import SecretStr

from contracts.accounts import PasswordResetCompleted, PasswordResetRequested
from contracts.common import Decision, Language, Person, RuleHit
from contracts.tickets import TicketDecisionRecorded
from services.notify.templates import password_changed, password_link, ticket_received

TICKET_ID = uuid.UUID("3f61efdc-0591-4da3-91a2-e32794baf6c9")
PORTAL = "https://portal.example/"
# Reasons as billing sends them since policy 2026.11.1: in English and Slovenian.
FREE = RuleHit(
    code="F-SHORT-USAGE",
    effect="free",
    explanation="Submitted through the portal.",
    explanation_sl="Oddano prek portala.",
)
PAID = RuleHit(
    code="P-CHANNEL",
    effect="paid",
    explanation="Submitted by phone, not through the portal.",
    explanation_sl="Zahtevek je bil oddan po telefonu, ne prek portala.",
)
OUTSIDE = RuleHit(
    code="R-OUTSIDE-HOURS",
    effect="deferred",
    explanation="Outside hours.",
    explanation_sl="Oddan izven delovnega časa.",
)


def decision_recorded(
    *,
    language: Language = "sl",
    decision: Decision = "free",
    reasons: tuple[RuleHit, ...] = (FREE,),
    deferred_until: datetime | None = None,
) -> TicketDecisionRecorded:
    return TicketDecisionRecorded(
        ticket_id=TICKET_ID,
        number=1042,
        org_id=uuid.UUID("e9b30804-fdf7-5f02-a95b-e2437b56ea1b"),
        requester=Person(
            user_id=uuid.uuid4(),
            email="ana.novak@demo.example",
            display_name="Ana Novak",
            language=language,
        ),
        subject="Obračun plač se ne zaključi",
        stage="provisional",
        decision=decision,
        reasons=reasons,
        policy_version="2026.11-provisional.1",
        deferred_until=deferred_until,
    )


def test_slovenian_subject_names_the_ticket_number_and_subject() -> None:
    email = ticket_received(decision_recorded(), portal_url=PORTAL)

    assert "1042" in email.subject
    assert "Obračun plač se ne zaključi" in email.subject
    assert email.subject.startswith("Prejeli smo")


def test_slovenian_body_greets_the_requester_by_name() -> None:
    email = ticket_received(decision_recorded(), portal_url=PORTAL)

    assert email.body.startswith("Pozdravljeni, Ana Novak,")


def test_slovenian_body_names_each_rule_with_its_slovenian_explanation() -> None:
    event = decision_recorded(
        reasons=(OUTSIDE, FREE), deferred_until=datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    )
    email = ticket_received(event, portal_url=PORTAL)

    assert "R-OUTSIDE-HOURS: Oddan izven delovnega časa." in email.body
    assert "F-SHORT-USAGE: Oddano prek portala." in email.body
    # The English explanation from the event is replaced, not repeated.
    assert "Outside hours." not in email.body
    assert "Submitted through the portal." not in email.body
    assert email.body.index("R-OUTSIDE-HOURS") < email.body.index("F-SHORT-USAGE")


def test_rule_without_a_translation_falls_back_to_the_explanation_in_the_event() -> None:
    novel = RuleHit(code="R-NEW-RULE", effect="refused", explanation="Nova razlaga.")
    email = ticket_received(decision_recorded(reasons=(novel,)), portal_url=PORTAL)

    assert "R-NEW-RULE: Nova razlaga." in email.body


def test_body_links_to_the_ticket_on_the_portal() -> None:
    email = ticket_received(decision_recorded(), portal_url=PORTAL)

    assert f"https://portal.example/tickets/{TICKET_ID}" in email.body
    assert "example//tickets" not in email.body


def test_deferred_decision_says_when_work_starts_in_local_time() -> None:
    # 07:00 UTC on 30 Nov 2026 is 08:00 in Ljubljana.
    event = decision_recorded(
        reasons=(OUTSIDE, FREE), deferred_until=datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    )
    email = ticket_received(event, portal_url=PORTAL)

    assert "Z reševanjem bomo začeli 30. november 2026 ob 08:00." in email.body


def test_decision_that_is_not_deferred_does_not_mention_a_start() -> None:
    email = ticket_received(decision_recorded(), portal_url=PORTAL)

    assert "Z reševanjem bomo začeli" not in email.body


def test_free_decision_reads_brezplacna_in_slovenian() -> None:
    email = ticket_received(decision_recorded(decision="free"), portal_url=PORTAL)

    assert "Predvidena obravnava: brezplačna." in email.body


def test_paid_decision_reads_placljiva_in_slovenian() -> None:
    email = ticket_received(decision_recorded(decision="paid", reasons=(PAID,)), portal_url=PORTAL)

    assert "Predvidena obravnava: plačljiva." in email.body
    assert "P-CHANNEL: Zahtevek je bil oddan po telefonu, ne prek portala." in email.body


def test_english_requester_gets_the_email_in_english() -> None:
    event = decision_recorded(
        language="en",
        decision="paid",
        reasons=(OUTSIDE, PAID),
        deferred_until=datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
    )
    email = ticket_received(event, portal_url=PORTAL)

    assert email.subject.startswith("We received")
    assert "1042" in email.subject
    assert email.body.startswith("Hello Ana Novak,")
    assert "Expected handling: paid." in email.body
    assert "P-CHANNEL: Submitted by phone, not through the portal." in email.body
    assert "Work on it starts 30 November 2026 at 08:00." in email.body
    assert f"https://portal.example/tickets/{TICKET_ID}" in email.body
    assert "Pozdravljeni" not in email.body
    assert "plačljiva" not in email.body


def _link_event(purpose: str, language: Language) -> PasswordResetRequested:
    return PasswordResetRequested(
        user=Person(
            user_id=uuid.uuid4(),
            email="mojca@kranjc.si",
            display_name="Mojca Kranjc",
            language=language,
        ),
        org_id=uuid.uuid4(),
        purpose=purpose,  # type: ignore[arg-type]
        reset_url=SecretStr("https://portal.example/ponastavitev-gesla?token=abc123"),
        expires_at=datetime(2026, 11, 23, 10, 5, tzinfo=UTC),
    )


def test_reset_email_in_slovenian_has_the_link_its_expiry_and_the_seeds_steps() -> None:
    mail = password_link(_link_event("reset", "sl"))
    assert mail.subject == "Ponastavitev gesla za uporabniški portal"
    assert "https://portal.example/ponastavitev-gesla?token=abc123" in mail.body
    assert "velja do 23. november 2026 ob 11:05" in mail.body  # Ljubljana time
    assert "ga ponovite in kliknite gumb Ponastavi" in mail.body
    assert "niste zahtevali" in mail.body


def test_invitation_names_the_user_name_and_is_not_about_a_request() -> None:
    mail = password_link(_link_event("invitation", "sl"))
    assert mail.subject == "Dobrodošli v prenovljenem uporabniškem portalu"
    assert "uporabniško ime je vaš e-poštni naslov: mojca@kranjc.si" in mail.body
    assert "niste zahtevali" not in mail.body


def test_english_reset_email() -> None:
    mail = password_link(_link_event("reset", "en"))
    assert mail.subject == "Reset your customer portal password"
    assert "until 23 November 2026 at 11:05" in mail.body


def test_password_changed_email_says_every_session_ended() -> None:
    event = PasswordResetCompleted(
        user=_link_event("reset", "sl").user,
        org_id=uuid.uuid4(),
        completed_at=datetime(2026, 11, 23, 9, 20, tzinfo=UTC),
    )
    mail = password_changed(event)
    assert mail.subject == "Vaše geslo je bilo spremenjeno"
    assert "23. november 2026 ob 10:20" in mail.body
    assert "odjavili iz vseh naprav" in mail.body
