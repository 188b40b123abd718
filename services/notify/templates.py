"""E-mail texts, in Slovenian (default) and English. Pure: data in, subject and body out.

The words are Jinja2 templates, one file per e-mail and language (`emails/<language>/<name>.txt`,
docs in services/notify/README.md), which a translator can edit without touching Python. A
template writes the plain text and sets `subject`; dates and numbers go through Babel (the
`moment`, `day` and `number` filters), quoted texts through `quoted`. The HTML part is built from
the plain text here (`_finish`), so both parts always say the same thing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from html import escape
from itertools import groupby

from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

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
from services.runtime.local_time import format_day, format_moment

_LOCALE: dict[Language, str] = {"sl": "sl_SI", "en": "en_GB"}


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


def _finish(subject: str, text: str, lang: Language) -> RenderedEmail:
    """Both parts from one text: blank lines part paragraphs, "  - " lines make a list, a line
    that is only a web address becomes a link. Everything else is escaped in the HTML part."""
    subject, text = " ".join(subject.split()), text.strip("\n") + "\n"
    blocks = [b.splitlines() for b in re.split(r"\n\s*\n", text.strip("\n"))]
    parts = []
    for block in blocks:
        for bullets, run in groupby(block, key=lambda line: line.startswith(_BULLET)):
            lines = list(run)
            if bullets:
                items = "".join(f"<li>{_inline(line[len(_BULLET) :])}</li>" for line in lines)
                parts.append(f"<ul>{items}</ul>")
            else:
                parts.append("<p>" + "<br>\n".join(_inline(line) for line in lines) + "</p>")
    html = (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head>\n"
        '<body style="font-family: Arial, sans-serif; font-size: 15px; line-height: 1.5;">\n'
        + "\n".join(parts)
        + "\n</body></html>\n"
    )
    return RenderedEmail(subject=subject, body=text, html=html)


# --- the templates' language-aware filters ----------------------------------------------------


@pass_context
def _moment(context: Context, moment: datetime) -> str:
    """A date and time in Ljubljana, for the template's language (Babel)."""
    language: Language = context["language"]
    return format_moment(moment, language)


@pass_context
def _day(context: Context, day: date) -> str:
    """A date, for the template's language (Babel)."""
    language: Language = context["language"]
    return format_day(day, language)


@pass_context
def _number(context: Context, number: int | float) -> str:
    """A quantity (minutes), grouped as the template's language writes it (Babel)."""
    language: Language = context["language"]
    return str(format_decimal(number, locale=_LOCALE[language]))


def _quoted(text: str) -> str:
    """A text someone wrote (a message, a resolution), indented line by line."""
    return "\n".join(f"    {line}" if line.strip() else "" for line in text.splitlines())


@cache
def _environment() -> Environment:
    """The templates, read from the package (so an installed wheel has them too). Templates
    are plain text (.txt), so nothing is escaped there; escaping happens once, where the text
    becomes HTML (`_finish`). Autoescaping is on for any .html/.xml template, should one come."""
    environment = Environment(
        loader=PackageLoader("services.notify", "emails"),
        autoescape=select_autoescape(("html", "htm", "xml")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(moment=_moment, day=_day, number=_number, quoted=_quoted)
    return environment


def render(name: str, language: Language, **values: object) -> RenderedEmail:
    """The e-mail `name` in `language` (emails/<language>/<name>.txt) with `values`. A template
    that names a value it was not given fails here (StrictUndefined), never at send time."""
    template = _environment().get_template(f"{language}/{name}.txt")
    module = template.make_module({**values, "language": language})
    subject = vars(module).get("subject")  # what the template's `{% set subject %}` exported
    if subject is None:
        raise LookupError(f"{language}/{name}.txt sets no subject")
    return _finish(str(subject), str(module), language)


# --- the e-mails ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """A rule that applied, in the reader's language."""

    code: str
    text: str


def _reasons(reasons: tuple[RuleHit, ...], lang: Language) -> list[Reason]:
    """The policy's reasons in the reader's language, as billing worded them. Decisions made
    before policy 2026.11.1 carry only English; that is what they say then (docs/decisions.md)."""
    return [
        Reason(r.code, r.explanation_sl if lang == "sl" and r.explanation_sl else r.explanation)
        for r in reasons
    ]


def _link(portal_url: str, ticket_id: uuid.UUID) -> str:
    return f"{portal_url.rstrip('/')}/tickets/{ticket_id}"


def _about_ticket(
    name: str,
    event: TicketAccepted | TicketMessagePosted | TicketResolved | TicketReopened | TicketClosed,
    reader: Person,
    *,
    portal_url: str,
    language: Language | None,
) -> RenderedEmail:
    """An e-mail about the event's ticket, with its link, in `language` (else the reader's)."""
    lang = language or reader.language
    return render(name, lang, event=event, link=_link(portal_url, event.ticket_id))


def _decision(
    name: str, event: TicketDecisionRecorded, *, portal_url: str, language: Language | None
) -> RenderedEmail:
    """An e-mail about a policy decision, with its reasons in the requester's language."""
    lang = language or event.requester.language
    reasons = _reasons(event.reasons, lang)
    return render(name, lang, event=event, reasons=reasons, link=_link(portal_url, event.ticket_id))


def ticket_received(
    event: TicketDecisionRecorded, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """Confirmation that a ticket was received, with the provisional policy decision and why."""
    return _decision("ticket_received", event, portal_url=portal_url, language=language)


def policy_decision(
    event: TicketDecisionRecorded, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """The final decision when help is paid or refused, with the reasons."""
    if event.decision == "free":
        raise ValueError("free help is not announced by a separate e-mail")
    return _decision("policy_decision", event, portal_url=portal_url, language=language)


def password_link(
    event: PasswordResetRequested, *, language: Language | None = None
) -> RenderedEmail:
    """The link to set a new password: after 'forgot password', or the first-login invitation."""
    lang = language or event.user.language
    return render("password_link", lang, event=event, url=event.reset_url.get_secret_value())


def password_changed(
    event: PasswordResetCompleted, *, language: Language | None = None
) -> RenderedEmail:
    """Confirmation that the password was set, and that every session was ended."""
    return render("password_changed", language or event.user.language, event=event)


def ticket_accepted(
    event: TicketAccepted, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """The ticket left the waiting list: a consultant took it into work."""
    return _about_ticket(
        "ticket_accepted", event, event.requester, portal_url=portal_url, language=language
    )


def consultant_message(
    event: TicketMessagePosted, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """A consultant wrote to the customer about the ticket (never an internal note)."""
    if event.internal or event.author_role != "consultant":
        raise ValueError("only a consultant's message to the customer is e-mailed")
    return _about_ticket(
        "consultant_message", event, event.requester, portal_url=portal_url, language=language
    )


def ticket_resolved(
    event: TicketResolved, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """The ticket is resolved: the resolution, the time spent, and how to reopen it."""
    if event.requester is None or event.number is None or event.subject is None:
        raise ValueError("a TicketResolved without requester, number and subject is not e-mailed")
    return _about_ticket(
        "ticket_resolved", event, event.requester, portal_url=portal_url, language=language
    )


def ticket_reopened(
    event: TicketReopened, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """To the consultant: the customer reopened a ticket they resolved, and why."""
    if event.consultant is None:
        raise ValueError("a reopened ticket without a consultant has nobody to tell")
    return _about_ticket(
        "ticket_reopened", event, event.consultant, portal_url=portal_url, language=language
    )


def ticket_closed(
    event: TicketClosed, *, portal_url: str, language: Language | None = None
) -> RenderedEmail:
    """The ticket is closed: confirmed by a person, or after the reopening window."""
    return _about_ticket(
        "ticket_closed", event, event.requester, portal_url=portal_url, language=language
    )


def release_available(
    event: ReleaseAvailable, *, portal_url: str, language: Language
) -> RenderedEmail:
    """A new version of a program the organization is licensed for is ready to download."""
    base = portal_url.rstrip("/")
    return render(
        "release_available",
        language,
        event=event,
        link=f"{base}/downloads/{event.release_id}",
        settings=f"{base}/settings",
    )
