"""Value types shared by several events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["sl", "en"]
Channel = Literal["portal", "phone", "email"]
Decision = Literal["free", "paid", "refused"]
DecisionStage = Literal["provisional", "final"]
Topic = Literal["program_usage", "legislation", "business_organization", "data_correction", "other"]
TicketStatus = Literal["waiting", "in_progress", "resolved", "closed", "refused"]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@dataclass(frozen=True)
class EventKey:
    """What an event's record key (the envelope's `aggregate_id`) is: a field of the payload, or
    a field of one (`user.user_id`), and the same in words for the published documents."""

    path: str
    words: str

    def of(self, payload: BaseModel) -> str:
        """The key of this payload, as the envelope carries it."""
        value: object = payload
        for name in self.path.split("."):
            value = getattr(value, name)
        return str(value)


TICKET_ID = EventKey("ticket_id", "the ticket id")
ORG_ID = EventKey("org_id", "the organization id")
USER_ID = EventKey("user_id", "the user id")


class EventModel(BaseModel):
    """Base of every payload: immutable, and tolerant of fields added by newer producers.

    An event class says once what it is and where it goes: `EVENT_TYPE` and `EVENT_VERSION`, the
    `TOPIC` it is published to and its `KEY`. `contracts.registry` finds the classes that set
    `EVENT_TYPE` and derives the registry and the topic of each type from them; a class without
    it (a value type such as `Person`, or a shared base) is not an event.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    EVENT_TYPE: ClassVar[str] = ""
    EVENT_VERSION: ClassVar[int] = 0
    TOPIC: ClassVar[str] = ""
    """The topic it is published to (a name from contracts/topics.py)."""
    KEY: ClassVar[EventKey | None] = None


class Person(EventModel):
    """A snapshot of a portal user as it was when the event happened."""

    user_id: uuid.UUID
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    display_name: str = Field(min_length=1, max_length=200)
    language: Language = "sl"


class RuleHit(EventModel):
    """One support-policy rule that applied, with the reason in words a customer can read."""

    code: str = Field(pattern=r"^[RPF]-[A-Z-]+$")
    effect: Literal["refused", "paid", "free", "deferred"]
    explanation: str = Field(min_length=1, max_length=1000)
    """In English."""
    explanation_sl: str | None = Field(default=None, min_length=1, max_length=1000)
    """The same in Slovenian (absent in decisions made before policy 2026.11.1)."""
