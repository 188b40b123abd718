"""E-mail texts, in Slovenian (default) and English. Pure: data in, subject and body out."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from html import escape
from itertools import groupby

from contracts.accounts import PasswordResetCompleted, PasswordResetRequested
from contracts.common import Language, RuleHit
from contracts.content import ReleaseAvailable
from contracts.tickets import (
    TicketAccepted,
    TicketClosed,
    TicketDecisionRecorded,
    TicketMessagePosted,
    TicketReopened,
    TicketResolved,
)
from services.runtime.local_time import format_day, format_moment


@dataclass(frozen=True)
class RenderedEmail:
    """An e-mail ready to send: a one-line subject, a plain-text body and the same as HTML."""

    subject: str
    body: str
    html: str


_URL = re.compile(r"^https?://\S+$")
_BULLET = "  - "


def _inline(line: str) -> str:
    """One line as HTML: escaped, and a link when it is only a web address."""
    if _URL.match(line.strip()):
        url = escape(line.strip())
        return f'<a href="{url}">{url}</a>'
    return escape(line)


def _finish(subject: str, lines: list[str], lang: Language) -> RenderedEmail:
    """Both parts from one text: blank lines part paragraphs, "  - " lines make a list, a line
    that is only a web address becomes a link. Everything else is escaped in the HTML part."""
    text = "\n".join(lines).strip("\n") + "\n"
    blocks = [b.splitlines() for b in re.split(r"\n\s*\n", text.strip("\n"))]
    parts = []
    for block in blocks:
        for bullets, run in groupby(block, key=lambda line: line.startswith(_BULLET)):
            lines_ = list(run)
            if bullets:
                items = "".join(f"<li>{_inline(line[len(_BULLET) :])}</li>" for line in lines_)
                parts.append(f"<ul>{items}</ul>")
            else:
                parts.append("<p>" + "<br>\n".join(_inline(line) for line in lines_) + "</p>")
    html = (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head>\n"
        '<body style="font-family: Arial, sans-serif; font-size: 15px; line-height: 1.5;">\n'
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
    return RenderedEmail(subject=" ".join(subject.split()), body=text, html=html)


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
        "R-ARREARS": "vaše podjetje ima do nas neporavnane zapadle obveznosti",
        "R-NOT-ONBOARDED": "oseba, ki je oddala zahtevek, pri nas ni bila uvedena v ta program",
        "P-NO-SETUP": "podjetje ni imelo uvajanja ali nima urejenih nastavitev programa",
        "P-IN-DOCS": "odgovor je opisan v spletni pomoči ali v e-novicah",
        "P-COMPLEX": "pomoč je zahtevnejša: traja več kot 15 minut ali zahteva izobraževanje",
        "P-LEGISLATION": "vprašanje se nanaša na zakonodajo ali na organizacijo poslovanja",
        "P-DATA-FIX": "za rešitev je bil potreben popravek podatkov",
        "P-REMOTE": "za rešitev je bila potrebna povezava na daljavo",
        "P-REPEAT": "enako vprašanje ali napaka se ponavlja kljub jasnim predhodnim navodilom",
        "P-OTHER-REMOTE": "gre za storitev na daljavo, ki ni vezana na delovanje programa",
        "F-NEW-PROGRAM": "pomoč pri začetku dela z novim programom po uvajanju ali seminarju",
    },
    "en": {
        "P-CHANNEL": "the request was not submitted through the customer portal (phone or e-mail)",
        "F-SHORT-USAGE": "the request came through the portal and no paid-help rule applies so "
        "far; the final decision follows at resolution (it depends on the time spent and the "
        "kind of help)",
        "R-OUTSIDE-HOURS": "the request was submitted outside support working hours "
        "(Mon-Fri 8:00-16:00, public holidays excluded)",
        "R-ARREARS": "your organization has overdue unpaid obligations to us",
        "R-NOT-ONBOARDED": "the person who submitted the request was not onboarded by us for "
        "this program",
        "P-NO-SETUP": "the organization had no onboarding or has no configured program settings",
        "P-IN-DOCS": "the answer is described in the online help or in the e-newsletter",
        "P-COMPLEX": "the help is complex: it takes longer than 15 minutes or needs training",
        "P-LEGISLATION": "the question is about legislation or about organizing the business",
        "P-DATA-FIX": "the solution required correcting data",
        "P-REMOTE": "the solution required a remote connection",
        "P-REPEAT": "the same question or error came again despite clear earlier instructions",
        "P-OTHER-REMOTE": "it is a remote service not tied to how the program works",
        "F-NEW-PROGRAM": "help with starting a new program after onboarding or a seminar",
    },
}


def _link(portal_url: str, ticket_id: uuid.UUID) -> str:
    return f"{portal_url.rstrip('/')}/tickets/{ticket_id}"


def _reason(r: RuleHit, lang: Language) -> str:
    """The policy's own words when it gave them in both languages (they name specifics: minutes,
    the earlier ticket, the article); otherwise this service's text for the code."""
    if r.explanation_sl is not None:
        return r.explanation_sl if lang == "sl" else r.explanation
    return _RULE[lang].get(r.code, r.explanation)


def _reasons(reasons: tuple[RuleHit, ...], lang: Language) -> str:
    return "\n".join(f"{_BULLET}{r.code}: {_reason(r, lang)}" for r in reasons)


def ticket_received(
    event: TicketDecisionRecorded, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """Confirmation that a ticket was received, with the provisional policy decision and why."""
    lang = language or event.requester.language
    link = _link(portal_url, event.ticket_id)
    reasons = _reasons(event.reasons, lang)
    decision = _DECISION[lang][event.decision]
    refused = event.decision == "refused"
    if lang == "sl":
        lines = [
            f"Pozdravljeni, {event.requester.display_name},",
            "",
            f"prejeli smo vaš zahtevek za pomoč št. {event.number}: »{event.subject}«.",
            "Žal vam pri njem pomoči ne moremo nuditi."
            if refused
            else "Zahtevek je na čakalni listi; ko ga svetovalec sprejme v reševanje, "
            "vas obvestimo.",
            "",
            f"Predvidena obravnava: {decision}. Razlogi:",
            reasons,
        ]
        if event.deferred_until and not refused:
            lines += ["", f"Z reševanjem bomo začeli {format_moment(event.deferred_until, lang)}."]
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
            "Unfortunately we cannot help you with it."
            if refused
            else "It is on the waiting list; we will let you know when a consultant takes it on.",
            "",
            f"Expected handling: {decision}. Reasons:",
            reasons,
        ]
        if event.deferred_until and not refused:
            lines += ["", f"Work on it starts {format_moment(event.deferred_until, lang)}."]
        lines += ["", f"Follow it on the portal: {link}", "", "Kind regards,", "Support"]
        subject = f"We received your request no. {event.number}: {event.subject}"
    return _finish(subject, lines, lang)


def password_link(
    event: PasswordResetRequested, *, language: Language | None = None
) -> RenderedEmail:
    """The link to set a new password: after 'forgot password', or the first-login invitation."""
    lang = language or event.user.language
    url = event.reset_url.get_secret_value()
    until = format_moment(event.expires_at, lang)
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
    return _finish(subject, lines, lang)


def password_changed(
    event: PasswordResetCompleted, *, language: Language | None = None
) -> RenderedEmail:
    """Confirmation that the password was set, and that every session was ended."""
    lang = language or event.user.language
    when = format_moment(event.completed_at, lang)
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
    return _finish(subject, lines, lang)


_SIGN_OFF = {"sl": ["", "Lep pozdrav,", "Podpora"], "en": ["", "Kind regards,", "Support"]}
_REPLY_ON_PORTAL = {
    "sl": "Na to sporočilo prosimo ne odgovarjajte po e-pošti; odgovor zapišite na portalu, da "
    "ostane vse dopisovanje o zahtevku na enem mestu:",
    "en": "Please do not reply to this e-mail; write your answer on the portal, so that all the "
    "correspondence about the request stays in one place:",
}


def _indented(text: str) -> list[str]:
    """A quoted text (a message, a resolution), kept line by line."""
    return [f"    {line}" if line.strip() else "" for line in text.splitlines()]


def ticket_accepted(
    event: TicketAccepted, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """The ticket left the waiting list: a consultant took it into work."""
    lang = language or event.requester.language
    when, link = format_moment(event.accepted_at, lang), _link(portal_url, event.ticket_id)
    consultant = event.consultant.display_name
    if lang == "sl":
        subject = f"Zahtevek št. {event.number} je v reševanju: {event.subject}"
        lines = [
            f"Pozdravljeni, {event.requester.display_name},",
            "",
            f"vaš zahtevek za pomoč št. {event.number} »{event.subject}« je {when} v reševanje "
            f"sprejel svetovalec {consultant}. Ko bo rešen, vas obvestimo.",
            "",
            "Zahtevek in dopisovanje s svetovalcem si lahko ogledate na portalu:",
            link,
        ]
    else:
        subject = f"Request no. {event.number} is being worked on: {event.subject}"
        lines = [
            f"Hello {event.requester.display_name},",
            "",
            f'consultant {consultant} took your help request no. {event.number} "{event.subject}" '
            f"into work on {when}. We will let you know when it is resolved.",
            "",
            "See the request and your correspondence with the consultant on the portal:",
            link,
        ]
    return _finish(subject, lines + _SIGN_OFF[lang], lang)


def consultant_message(
    event: TicketMessagePosted, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """A consultant wrote to the customer about the ticket (never an internal note)."""
    if event.internal or event.author_role != "consultant":
        raise ValueError("only a consultant's message to the customer is e-mailed")
    lang = language or event.requester.language
    when, link = format_moment(event.posted_at, lang), _link(portal_url, event.ticket_id)
    author = event.author.display_name
    if lang == "sl":
        subject = f"Novo sporočilo k zahtevku št. {event.number}: {event.subject}"
        intro = (
            f"svetovalec {author} vam je {when} napisal sporočilo k zahtevku št. "
            f"{event.number} »{event.subject}«:"
        )
        greeting = f"Pozdravljeni, {event.requester.display_name},"
    else:
        subject = f"New message about request no. {event.number}: {event.subject}"
        intro = (
            f'consultant {author} wrote to you about request no. {event.number} "{event.subject}" '
            f"on {when}:"
        )
        greeting = f"Hello {event.requester.display_name},"
    lines = [greeting, "", intro, "", *_indented(event.body), "", _REPLY_ON_PORTAL[lang], link]
    return _finish(subject, lines + _SIGN_OFF[lang], lang)


def ticket_resolved(
    event: TicketResolved, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """The ticket is resolved: the resolution, the time spent, and how to reopen it."""
    if event.requester is None or event.number is None or event.subject is None:
        raise ValueError("a TicketResolved without requester, number and subject is not e-mailed")
    lang = language or event.requester.language
    when, link = format_moment(event.resolved_at, lang), _link(portal_url, event.ticket_id)
    by = event.consultant.display_name if event.consultant else None
    if lang == "sl":
        subject = f"Zahtevek št. {event.number} je rešen: {event.subject}"
        lines = [
            f"Pozdravljeni, {event.requester.display_name},",
            "",
            f"vaš zahtevek za pomoč št. {event.number} »{event.subject}« je {when} rešil "
            + (f"svetovalec {by}." if by else "naš svetovalec."),
            "",
            "Rešitev:",
            *_indented(event.resolution),
            "",
            f"Porabljen čas: {event.time_spent_minutes} min.",
        ]
        if event.doc_reference:
            lines.append(f"Več o tem: {event.doc_reference}")
        lines += [
            "",
            "Če rešitev težave ne odpravi, lahko zahtevek na portalu ponovno odprete:",
            link,
        ]
    else:
        subject = f"Request no. {event.number} is resolved: {event.subject}"
        lines = [
            f"Hello {event.requester.display_name},",
            "",
            f'your help request no. {event.number} "{event.subject}" was resolved on {when} by '
            + (f"consultant {by}." if by else "our consultant."),
            "",
            "Resolution:",
            *_indented(event.resolution),
            "",
            f"Time spent: {event.time_spent_minutes} min.",
        ]
        if event.doc_reference:
            lines.append(f"More on this: {event.doc_reference}")
        lines += ["", "If this does not solve the problem, reopen the request on the portal:", link]
    return _finish(subject, lines + _SIGN_OFF[lang], lang)


def ticket_reopened(
    event: TicketReopened, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """To the consultant: the customer reopened a ticket they resolved, and why."""
    if event.consultant is None:
        raise ValueError("a reopened ticket without a consultant has nobody to tell")
    lang = language or event.consultant.language
    when, link = format_moment(event.reopened_at, lang), _link(portal_url, event.ticket_id)
    customer = event.reopened_by.display_name
    if lang == "sl":
        subject = f"Stranka je ponovno odprla zahtevek št. {event.number}: {event.subject}"
        lines = [
            f"Pozdravljeni, {event.consultant.display_name},",
            "",
            f"stranka {customer} je {when} ponovno odprla zahtevek št. {event.number} "
            f"»{event.subject}«, ki ste ga rešili. Razlog:",
            "",
            *_indented(event.reason),
            "",
            "Zahtevek je znova v reševanju pri vas:",
            link,
        ]
    else:
        subject = f"The customer reopened request no. {event.number}: {event.subject}"
        lines = [
            f"Hello {event.consultant.display_name},",
            "",
            f'{customer} reopened request no. {event.number} "{event.subject}", which you '
            f"resolved, on {when}. The reason:",
            "",
            *_indented(event.reason),
            "",
            "The request is back in work with you:",
            link,
        ]
    return _finish(subject, lines + _SIGN_OFF[lang], lang)


def ticket_closed(
    event: TicketClosed, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """The ticket is closed: confirmed by a person, or after the reopening window."""
    lang = language or event.requester.language
    when, link = format_moment(event.closed_at, lang), _link(portal_url, event.ticket_id)
    automatic = event.closed_by is None
    if lang == "sl":
        subject = f"Zahtevek št. {event.number} je zaključen: {event.subject}"
        how = (
            "smo zaključili, ker ga v predvidenem času po rešitvi niste ponovno odprli"
            if automatic
            else "je zaključen"
        )
        lines = [
            f"Pozdravljeni, {event.requester.display_name},",
            "",
            f"vaš zahtevek za pomoč št. {event.number} »{event.subject}« {how} ({when}).",
            "",
            "Zahtevek in dopisovanje ostajata na portalu; za novo vprašanje oddajte nov zahtevek:",
            link,
        ]
    else:
        subject = f"Request no. {event.number} is closed: {event.subject}"
        how = (
            "was closed because it was not reopened in the time allowed after its resolution"
            if automatic
            else "is closed"
        )
        lines = [
            f"Hello {event.requester.display_name},",
            "",
            f'your help request no. {event.number} "{event.subject}" {how} ({when}).',
            "",
            "The request and its correspondence stay on the portal; for a new question, submit "
            "a new request:",
            link,
        ]
    return _finish(subject, lines + _SIGN_OFF[lang], lang)


def policy_decision(
    event: TicketDecisionRecorded, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """The final decision when help is paid or refused, with the reasons."""
    if event.decision == "free":
        raise ValueError("free help is not announced by a separate e-mail")
    lang = language or event.requester.language
    link = _link(portal_url, event.ticket_id)
    reasons = _reasons(event.reasons, lang)
    if lang == "sl":
        if event.decision == "paid":
            subject = f"Pomoč pri zahtevku št. {event.number} je plačljiva: {event.subject}"
            verdict = (
                f"pomoč pri vašem zahtevku št. {event.number} »{event.subject}« je plačljiva "
                "in bo zaračunana po veljavnem ceniku. Razlogi:"
            )
        else:
            subject = f"Pri zahtevku št. {event.number} pomoči ne moremo nuditi: {event.subject}"
            verdict = (
                f"pri vašem zahtevku št. {event.number} »{event.subject}« vam pomoči žal ne "
                "moremo nuditi. Razlogi:"
            )
        lines = [
            f"Pozdravljeni, {event.requester.display_name},",
            "",
            verdict,
            reasons,
            "",
            "Vprašanja o tej odločitvi lahko zapišete pri zahtevku na portalu:",
            link,
        ]
    else:
        if event.decision == "paid":
            subject = f"Help with request no. {event.number} is paid: {event.subject}"
            verdict = (
                f'help with your request no. {event.number} "{event.subject}" is paid and will '
                "be charged at the current rates. The reasons:"
            )
        else:
            subject = f"We cannot help with request no. {event.number}: {event.subject}"
            verdict = (
                f"unfortunately we cannot help you with request no. {event.number} "
                f'"{event.subject}". The reasons:'
            )
        lines = [
            f"Hello {event.requester.display_name},",
            "",
            verdict,
            reasons,
            "",
            "Questions about this decision can be written on the request, on the portal:",
            link,
        ]
    return _finish(subject, lines + _SIGN_OFF[lang], lang)


def release_available(
    event: ReleaseAvailable, *, portal_url: str, language: Language
) -> RenderedEmail:
    """A new version of a program the organization is licensed for is ready to download."""
    base = portal_url.rstrip("/")
    link, settings = f"{base}/downloads/{event.release_id}", f"{base}/settings"
    day = format_day(event.released_on, language)
    notes = event.notes_sl if language == "sl" else event.notes_en
    if language == "sl":
        subject = f"Nova različica programa {event.program}: {event.version}"
        lines = [
            "Pozdravljeni,",
            "",
            f"na portalu je na voljo nova različica programa {event.program}, {event.version}, "
            f"izdana {day}.",
            *(["", "Novosti:", *_indented(notes)] if notes.strip() else []),
            "",
            "Namestitvene datoteke prenesete na portalu:",
            link,
            "",
            "Teh obvestil ne želite več? Izklopite jih v nastavitvah portala:",
            settings,
        ]
    else:
        subject = f"New version of {event.program}: {event.version}"
        lines = [
            "Hello,",
            "",
            f"a new version of {event.program}, {event.version}, released on {day}, is "
            "available on the portal.",
            *(["", "What is new:", *_indented(notes)] if notes.strip() else []),
            "",
            "Download the installation files on the portal:",
            link,
            "",
            "Do not want these e-mails? Turn them off in the portal's settings:",
            settings,
        ]
    return _finish(subject, lines + _SIGN_OFF[language], language)
