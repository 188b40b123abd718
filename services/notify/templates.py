"""E-mail texts, in Slovenian (default) and English. Pure: data in, subject and body out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from contracts.accounts import PasswordResetCompleted, PasswordResetRequested
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


def password_link(event: PasswordResetRequested) -> RenderedEmail:
    """The link to set a new password: after 'forgot password', or the first-login invitation."""
    lang = event.user.language
    url = event.reset_url.get_secret_value()
    until = _when(event.expires_at, lang)
    name, email = event.user.display_name, event.user.email
    if lang == "sl":
        if event.purpose == "invitation":
            subject = "Dobrodošli v prenovljenem uporabniškem portalu"
            intro = [
                f"za vas smo pripravili osebni dostop do uporabniškega portala. Vaše uporabniško "
                f"ime je vaš e-poštni naslov: {email}.",
                "",
                "Pred prvim vstopom si nastavite geslo na tej povezavi:",
            ]
        else:
            subject = "Ponastavitev gesla za uporabniški portal"
            intro = [
                f"prejeli smo zahtevo za ponastavitev gesla za vaš dostop do uporabniškega portala "
                f"({email}). Novo geslo nastavite na tej povezavi:",
            ]
        lines = [
            f"Pozdravljeni, {name},",
            "",
            *intro,
            "",
            url,
            "",
            "Vpišite novo geslo, ga ponovite in kliknite gumb Ponastavi. "
            f"Povezava velja do {until} in jo lahko uporabite samo enkrat. Če poteče, na vstopni "
            "strani portala kliknite »Pozabljeno geslo« in vpišite svoj e-poštni naslov.",
        ]
        if event.purpose == "reset":
            lines += [
                "",
                "Če ponastavitve niste zahtevali vi, sporočilo prezrite; geslo ostaja "
                "nespremenjeno.",
            ]
        lines += ["", "Lep pozdrav,", "Podpora"]
    else:
        if event.purpose == "invitation":
            subject = "Welcome to the renewed customer portal"
            intro = [
                f"we have set up your personal access to the customer portal. Your user name is "
                f"your e-mail address: {email}.",
                "",
                "Before you sign in for the first time, set your password with this link:",
            ]
        else:
            subject = "Reset your customer portal password"
            intro = [
                f"we received a request to reset the password of your customer portal account "
                f"({email}). Set a new password with this link:",
            ]
        lines = [
            f"Hello {name},",
            "",
            *intro,
            "",
            url,
            "",
            "Type the new password twice and click Reset. "
            f"The link works once, until {until}. If it has expired, click 'Forgot password' on "
            "the portal's sign-in page and enter your e-mail address.",
        ]
        if event.purpose == "reset":
            lines += [
                "",
                "If you did not ask for this, ignore this e-mail; your password stays as it is.",
            ]
        lines += ["", "Kind regards,", "Support"]
    return RenderedEmail(subject=subject, body="\n".join(lines) + "\n")


def password_changed(event: PasswordResetCompleted) -> RenderedEmail:
    """Confirmation that the password was set, and that every session was ended."""
    lang = event.user.language
    when = _when(event.completed_at, lang)
    name, email = event.user.display_name, event.user.email
    if lang == "sl":
        subject = "Vaše geslo je bilo spremenjeno"
        lines = [
            f"Pozdravljeni, {name},",
            "",
            f"geslo za vaš dostop do uporabniškega portala ({email}) je bilo {when} uspešno "
            "nastavljeno. Zaradi varnosti smo vas odjavili iz vseh naprav; prijavite se z novim "
            "geslom.",
            "",
            "Če gesla niste spremenili vi, nemudoma obvestite podporo in si geslo ponastavite "
            "znova.",
            "",
            "Lep pozdrav,",
            "Podpora",
        ]
    else:
        subject = "Your password was changed"
        lines = [
            f"Hello {name},",
            "",
            f"the password of your customer portal account ({email}) was set on {when}. For your "
            "security we signed you out on every device; sign in with the new password.",
            "",
            "If you did not change it, tell support at once and reset your password again.",
            "",
            "Kind regards,",
            "Support",
        ]
    return RenderedEmail(subject=subject, body="\n".join(lines) + "\n")
