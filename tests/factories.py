"""The ticket the domain tests start from, and the people on it: built once here, changed by
each test for what it checks (`dataclasses.replace`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.common import Person
from services.tickets.domain import NewTicket, Ticket

ORG = uuid.UUID("e9b30804-fdf7-5f02-a95b-e2437b56ea1b")
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ANA = Person(
    user_id=uuid.UUID("40806fb9-17b4-50da-9e43-a039810eda37"),
    email="ana.novak@demo.example",
    display_name="Ana Novak",
)
MARKO = Person(
    user_id=uuid.UUID("ed24a3d6-55d6-5a28-b209-942f79883e05"),
    email="svetovalec@podpora.example",
    display_name="Marko Svetovalec",
)


def new_ticket(**changes: Any) -> NewTicket:
    """Ana's question about Plače, submitted on the portal at `T0`, with `changes`."""
    fields: dict[str, Any] = {
        "id": uuid.UUID("3f61efdc-0591-4da3-91a2-e32794baf6c9"),
        "org_id": ORG,
        "requester": ANA,
        "channel": "portal",
        "topic": "program_usage",
        "subject": "Obračun plač se ne zaključi",
        "body": "Program javi napako.",
        "program": "Plače",
        "submitted_at": T0,
        "recorded_by": None,
    }
    return NewTicket(**(fields | changes))


def waiting_ticket(**changes: Any) -> Ticket:
    """That question stored as ticket no. 1042 on the waiting list, with `changes`."""
    stored: dict[str, Any] = {"number": 1042, "status": "waiting", "version": 1}
    return Ticket(**(vars(new_ticket()) | stored | changes))
