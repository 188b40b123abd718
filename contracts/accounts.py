"""Events the auth service publishes (topic `accounts.events`; key = user id, or organization id
for organization events).

`SessionEnded` and `UserTokensRevoked` end access before the access tokens expire: every service
refuses the tokens they name (services/runtime/revocation.py, docs/decisions.md "Sessions end
when they should").

`PasswordResetRequested.reset_url` carries a secret (the single-use token): it is a `SecretStr`,
so it never shows in a repr, a log line or an error message; it is revealed only when the event is
serialized to JSON for the outbox and the broker.
"""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, PlainSerializer, SecretStr

from contracts.common import (
    EMAIL_PATTERN,
    ORG_ID,
    USER_ID,
    EventKey,
    EventModel,
    Language,
    Person,
)
from contracts.topics import ACCOUNTS_EVENTS

Role = Literal["customer", "customer_admin", "consultant", "vendor_admin"]
OrganizationKind = Literal["customer", "vendor"]
PasswordLinkPurpose = Literal["reset", "invitation"]

SecretUrl = Annotated[
    SecretStr,
    PlainSerializer(lambda value: value.get_secret_value(), return_type=str, when_used="json"),
]


class AccountsEvent(EventModel):
    """An event on `accounts.events`, keyed by its user (an organization's by the organization)."""

    TOPIC: ClassVar[str] = ACCOUNTS_EVENTS
    KEY: ClassVar[EventKey | None] = USER_ID


class UserEvent(AccountsEvent):
    """An event about one user of an organization."""

    user_id: uuid.UUID
    org_id: uuid.UUID


class OrganizationCreated(AccountsEvent):
    """A customer organization (or the vendor itself) now exists."""

    EVENT_TYPE: ClassVar[str] = "OrganizationCreated"
    EVENT_VERSION: ClassVar[int] = 1
    KEY: ClassVar[EventKey | None] = ORG_ID

    org_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    kind: OrganizationKind


class UserCreated(UserEvent):
    """A person got an account (by an administrator or the legacy import); no password yet."""

    EVENT_TYPE: ClassVar[str] = "UserCreated"
    EVENT_VERSION: ClassVar[int] = 1

    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    display_name: str = Field(min_length=1, max_length=200)
    language: Language
    roles: tuple[Role, ...]


class UserDeactivated(UserEvent):
    """The user can no longer sign in; their sessions were ended."""

    EVENT_TYPE: ClassVar[str] = "UserDeactivated"
    EVENT_VERSION: ClassVar[int] = 1


class UserReactivated(UserEvent):
    """A deactivated user may sign in again."""

    EVENT_TYPE: ClassVar[str] = "UserReactivated"
    EVENT_VERSION: ClassVar[int] = 1


class UserLanguageChanged(UserEvent):
    """The language the user wants e-mails and texts in."""

    EVENT_TYPE: ClassVar[str] = "UserLanguageChanged"
    EVENT_VERSION: ClassVar[int] = 1

    language: Language


class PersonEvent(AccountsEvent):
    """An event about one user that carries the user as they were (for notify's e-mail)."""

    KEY: ClassVar[EventKey | None] = EventKey("user.user_id", "the user id")

    user: Person
    org_id: uuid.UUID


class PasswordResetRequested(PersonEvent):
    """Someone asked for a password link for this user (reset, or first-login invitation);
    notify e-mails `reset_url` to the user."""

    EVENT_TYPE: ClassVar[str] = "PasswordResetRequested"
    EVENT_VERSION: ClassVar[int] = 1

    purpose: PasswordLinkPurpose
    reset_url: SecretUrl
    expires_at: AwareDatetime


class PasswordResetCompleted(PersonEvent):
    """The user set a new password through a link; all their sessions were ended."""

    EVENT_TYPE: ClassVar[str] = "PasswordResetCompleted"
    EVENT_VERSION: ClassVar[int] = 1

    completed_at: AwareDatetime


class UserRolesChanged(UserEvent):
    """An administrator gave the user other roles (the whole new set)."""

    EVENT_TYPE: ClassVar[str] = "UserRolesChanged"
    EVENT_VERSION: ClassVar[int] = 1

    roles: tuple[Role, ...]


class UserTokensRevoked(UserEvent):
    """Every access token of the user issued at or before `revoked_before` must be refused (a
    completed password reset, a deactivation, a change of roles; `reason` says which, in words
    for logs: readers must not branch on it). Tokens issued later are valid."""

    EVENT_TYPE: ClassVar[str] = "UserTokensRevoked"
    EVENT_VERSION: ClassVar[int] = 1

    revoked_before: AwareDatetime
    tokens_expire_by: AwareDatetime
    """The last token this concerns has expired by then; a reader may forget the revocation."""
    reason: str = Field(min_length=1, max_length=100)


class SessionEnded(AccountsEvent):
    """A session ended before its time (the user signed out, or a rotated refresh token was
    presented again): its refresh tokens are spent, and every access token carrying its id
    (claim `sid`) must be refused. `reason` is in words for logs."""

    EVENT_TYPE: ClassVar[str] = "SessionEnded"
    EVENT_VERSION: ClassVar[int] = 1

    session_id: uuid.UUID
    user_id: uuid.UUID
    org_id: uuid.UUID
    ended_at: AwareDatetime
    tokens_expire_by: AwareDatetime
    """The last access token of the session has expired by then; a reader may forget it."""
    reason: str = Field(min_length=1, max_length=100)
