"""Topic names, and which topic each event type is published to."""

from __future__ import annotations

from typing import Final

TICKETS_EVENTS: Final = "tickets.events"
BILLING_EVENTS: Final = "billing.events"
ACCOUNTS_EVENTS: Final = "accounts.events"
ERP_EVENTS: Final = "erp.events"
TRAINING_EVENTS: Final = "training.events"
CONTENT_EVENTS: Final = "content.events"
DEAD_LETTER: Final = "ticketing.dead-letter"

ALL_TOPICS: Final = (
    TICKETS_EVENTS,
    BILLING_EVENTS,
    ACCOUNTS_EVENTS,
    ERP_EVENTS,
    TRAINING_EVENTS,
    CONTENT_EVENTS,
    DEAD_LETTER,
)

TOPIC_OF_EVENT: Final[dict[str, str]] = {
    "TicketCreated": TICKETS_EVENTS,
    "TicketDecisionRecorded": TICKETS_EVENTS,
    "TicketResolved": TICKETS_EVENTS,
    "TicketAccepted": TICKETS_EVENTS,
    "TicketReopened": TICKETS_EVENTS,
    "TicketClosed": TICKETS_EVENTS,
    "TicketRefused": TICKETS_EVENTS,
    "TicketMessagePosted": TICKETS_EVENTS,
    "TicketAttachmentsImported": TICKETS_EVENTS,
    "TicketClassified": BILLING_EVENTS,
    "StatementIssued": BILLING_EVENTS,
    "OrganizationStandingChanged": ERP_EVENTS,
    "OnboardingRecorded": TRAINING_EVENTS,
    "ProgramLicenceChanged": ERP_EVENTS,
    "TrainingOrderChanged": TRAINING_EVENTS,
    "ReleasePublished": CONTENT_EVENTS,
    "ReleaseAvailable": CONTENT_EVENTS,
    "AttachmentUploaded": CONTENT_EVENTS,
    "AttachmentExpired": CONTENT_EVENTS,
    "OrganizationCreated": ACCOUNTS_EVENTS,
    "UserCreated": ACCOUNTS_EVENTS,
    "UserDeactivated": ACCOUNTS_EVENTS,
    "UserReactivated": ACCOUNTS_EVENTS,
    "UserLanguageChanged": ACCOUNTS_EVENTS,
    "PasswordResetRequested": ACCOUNTS_EVENTS,
    "PasswordResetCompleted": ACCOUNTS_EVENTS,
    "UserRolesChanged": ACCOUNTS_EVENTS,
    "UserTokensRevoked": ACCOUNTS_EVENTS,
    "SessionEnded": ACCOUNTS_EVENTS,
}
