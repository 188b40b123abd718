"""E-mail texts, in Slovenian (default) and English. Pure: data in, subject and body out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts.common import Language
from contracts.tickets import TicketDecisionRecorded

LOCAL_ZONE = ZoneInfo("Europe/Ljubljana")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


_DECISION = {
    "sl": {"free": "brezplačna", "paid": "plačljiva", "refused": "pomoč ni mogoča"},
    "en": {"free": "free of charge", "paid": "paid", "refused": "help cannot be given"},
}

_RULE = {
    "sl": {
        "P-CHANNEL": "zahtevek ni bil oddan prek uporabniškega portala (telefon ali e-pošta)",
        "F-SHORT-USAGE": "zahtevek je bil oddan prek portala in zaenkrat ne velja nobeno pravilo "
        "plačljive pomoči; končna odločitev sledi ob rešitvi (odvisna je od porabljenega časa "
        "in vrste pomoči)",
        "R-OUTSIDE-HOURS": "zahtevek je bil oddan izven delovnega časa podpore "
        "(pon.-pet. 8.00-16.00, razen praznikov)",
    },
    "en": {
        "P-CHANNEL": "the request was not submitted through the customer portal (phone or e-mail)",
        "F-SHORT-USAGE": "the request came through the portal and no paid-help rule applies so "
        "far; the final decision follows at resolution (it depends on the time spent and the "
        "kind of help)",
        "R-OUTSIDE-HOURS": "the request was submitted outside support working hours "
        "(Mon-Fri 8:00-16:00, public holidays excluded)",
    },
}


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _when(moment: datetime, language: Language) -> str:
    """A local date and time, independent of the process's locale."""
    local = moment.astimezone(LOCAL_ZONE)
    if language == "sl":
        return f"{local.day}. {local.month}. {local.year} ob {local:%H.%M}"
    return f"{local.day:02d} {_MONTHS_EN[local.month - 1]} {local.year} at {local:%H:%M}"


def ticket_received(event: TicketDecisionRecorded, *, portal_url: str) -> RenderedEmail:
    """Confirmation that a ticket was received, with the provisional policy decision and why."""
    lang = event.requester.language
    link = f"{portal_url.rstrip('/')}/tickets/{event.ticket_id}"
    reasons = "\n".join(
        f"  - {r.code}: {_RULE[lang].get(r.code, r.explanation)}" for r in event.reasons
    )
    decision = _DECISION[lang][event.decision]
    if lang == "sl":
        lines = [
            f"Pozdravljeni, {event.requester.display_name},",
            "",
            f"prejeli smo vaš zahtevek za pomoč št. {event.number}: »{event.subject}«.",
            "Zahtevek je na čakalni listi; ko ga svetovalec sprejme v reševanje, vas obvestimo.",
            "",
            f"Predvidena obravnava: {decision}. Razlogi:",
            reasons,
        ]
        if event.deferred_until:
            lines += ["", f"Z reševanjem bomo začeli {_when(event.deferred_until, lang)}."]
        lines += [
            "",
            f"Zahtevek lahko spremljate na portalu: {link}",
            "",
            "Lep pozdrav,",
            "Podpora",
        ]
        subject = f"Prejeli smo vaš zahtevek št. {event.number}: {event.subject}"
    else:
        lines = [
            f"Hello {event.requester.display_name},",
            "",
            f'we have received your help request no. {event.number}: "{event.subject}".',
            "It is on the waiting list; we will let you know when a consultant takes it on.",
            "",
            f"Expected handling: {decision}. Reasons:",
            reasons,
        ]
        if event.deferred_until:
            lines += ["", f"Work on it starts {_when(event.deferred_until, lang)}."]
        lines += ["", f"Follow it on the portal: {link}", "", "Kind regards,", "Support"]
        subject = f"We received your request no. {event.number}: {event.subject}"
    return RenderedEmail(subject=subject, body="\n".join(lines) + "\n")
