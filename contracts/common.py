"""Value types shared by several events."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["sl", "en"]
Channel = Literal["portal", "phone", "email"]
Decision = Literal["free", "paid", "refused"]
DecisionStage = Literal["provisional", "final"]
Topic = Literal["program_usage", "legislation", "business_organization", "data_correction", "other"]
TicketStatus = Literal["waiting", "in_progress", "resolved", "closed", "refused"]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class EventModel(BaseModel):
    """Base of every payload: immutable, and tolerant of fields added by newer producers."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    EVENT_TYPE: ClassVar[str] = ""
    EVENT_VERSION: ClassVar[int] = 0


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
