"""Every published (event type, version) and the model that reads it."""

from __future__ import annotations

from typing import Final

from contracts.accounts import (
    OrganizationCreated,
    PasswordResetCompleted,
    PasswordResetRequested,
    SessionEnded,
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
    UserReactivated,
    UserRolesChanged,
    UserTokensRevoked,
)
from contracts.billing import StatementIssued, TicketClassified
from contracts.common import EventModel
from contracts.content import (
    AttachmentExpired,
    AttachmentUploaded,
    ProgramLicenceChanged,
    ReleaseAvailable,
    ReleasePublished,
    TrainingOrderChanged,
)
from contracts.policy_inputs import OnboardingRecorded, OrganizationStandingChanged
from contracts.tickets import (
    TicketAccepted,
    TicketAttachmentsImported,
    TicketClosed,
    TicketCreated,
    TicketDecisionRecorded,
    TicketMessagePosted,
    TicketRefused,
    TicketReopened,
    TicketResolved,
)

EventPayload = EventModel

EVENT_MODELS: Final[dict[tuple[str, int], type[EventModel]]] = {
    (model.EVENT_TYPE, model.EVENT_VERSION): model
    for model in (
        TicketCreated,
        TicketDecisionRecorded,
        TicketResolved,
        TicketAccepted,
        TicketReopened,
        TicketClosed,
        TicketRefused,
        TicketMessagePosted,
        TicketAttachmentsImported,
        TicketClassified,
        StatementIssued,
        OrganizationStandingChanged,
        OnboardingRecorded,
        ProgramLicenceChanged,
        TrainingOrderChanged,
        ReleasePublished,
        ReleaseAvailable,
        AttachmentUploaded,
        AttachmentExpired,
        OrganizationCreated,
        UserCreated,
        UserDeactivated,
        UserReactivated,
        UserLanguageChanged,
        PasswordResetRequested,
        PasswordResetCompleted,
        UserRolesChanged,
        UserTokensRevoked,
        SessionEnded,
    )
}


class UnknownEventTypeError(LookupError):
    """No contract exists for this event type."""


class UnsupportedEventVersionError(LookupError):
    """The event type is known, but not in this version (e.g. newer than this reader)."""


def model_for(event_type: str, event_version: int) -> type[EventModel]:
    """Return the payload model of an event type and version, or raise why there is none."""
    model = EVENT_MODELS.get((event_type, event_version))
    if model is not None:
        return model
    if any(known_type == event_type for known_type, _ in EVENT_MODELS):
        raise UnsupportedEventVersionError(f"{event_type} v{event_version} is not supported")
    raise UnknownEventTypeError(f"unknown event type {event_type!r}")
