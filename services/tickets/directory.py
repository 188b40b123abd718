"""What the tickets service knows of the portal's users, from `accounts.events`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contracts.common import Person


@dataclass(frozen=True)
class DirectoryUser:
    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    display_name: str
    language: str
    roles: frozenset[str]
    active: bool

    def person(self) -> Person:
        return Person(
            user_id=self.id,
            email=self.email,
            display_name=self.display_name,
            language=self.language,
        )
