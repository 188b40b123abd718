"""The registry is derived from the event classes, and refuses a class that does not say what
it must (its version, topic and key) or says what another already said."""

from __future__ import annotations

import types
import uuid
from typing import ClassVar

import pytest

from contracts.common import TICKET_ID, EventKey, EventModel
from contracts.registry import ContractError, registry_of
from contracts.topics import DEAD_LETTER, TICKETS_EVENTS


class _OnTickets(EventModel):
    TOPIC: ClassVar[str] = TICKETS_EVENTS
    KEY: ClassVar[EventKey | None] = TICKET_ID

    ticket_id: uuid.UUID


def _event(name: str, base: type[EventModel] = _OnTickets, **says: object) -> type[EventModel]:
    """An event class `name` deriving from `base` that says what `says` does (EVENT_TYPE, ...)."""
    made: type[EventModel] = type(name, (base,), {"__module__": __name__, **says})
    return made


_Escalated = _event("_Escalated", EVENT_TYPE="TicketEscalated", EVENT_VERSION=1)
_EscalatedAgain = _event("_EscalatedAgain", EVENT_TYPE="TicketEscalated", EVENT_VERSION=1)
_Unversioned = _event("_Unversioned", EVENT_TYPE="TicketUnversioned")
_DeadLettered = _event(
    "_DeadLettered", EVENT_TYPE="TicketDeadLettered", EVENT_VERSION=1, TOPIC=DEAD_LETTER
)
_KeyedByAbsentField = _event(
    "_KeyedByAbsentField",
    EVENT_TYPE="TicketKeyedOddly",
    EVENT_VERSION=1,
    KEY=EventKey("release_id", "the release id"),
)


class _Nowhere(EventModel):
    """Names a type, a version and a key, but no topic."""

    EVENT_TYPE: ClassVar[str] = "TicketNowhere"
    EVENT_VERSION: ClassVar[int] = 1
    KEY: ClassVar[EventKey | None] = TICKET_ID

    ticket_id: uuid.UUID


def _module(*classes: type[EventModel]) -> types.ModuleType:
    module = types.ModuleType(__name__)
    for cls in classes:
        setattr(module, cls.__name__, cls)
    return module


def test_classes_that_name_a_type_are_registered_and_their_bases_are_not() -> None:
    assert registry_of((_module(_OnTickets, _Escalated),)) == {("TicketEscalated", 1): _Escalated}


def test_a_class_imported_from_another_module_is_not_registered_twice() -> None:
    foreign = _module(_Escalated)
    foreign.__name__ = "somewhere.else"
    assert registry_of((foreign,)) == {}


@pytest.mark.parametrize(
    ("cls", "complaint"),
    [
        (_Unversioned, "names no EVENT_VERSION"),
        (_Nowhere, "names no topic"),
        (_DeadLettered, "names no topic"),
        (_KeyedByAbsentField, "names no KEY among its fields"),
    ],
    ids=["no version", "no topic", "the dead-letter topic", "key not a field"],
)
def test_a_class_that_does_not_say_all_it_must_is_refused(
    cls: type[EventModel], complaint: str
) -> None:
    with pytest.raises(ContractError, match=complaint):
        registry_of((_module(cls),))


def test_two_classes_of_one_type_and_version_are_refused() -> None:
    with pytest.raises(ContractError, match="is both"):
        registry_of((_module(_Escalated), _module(_EscalatedAgain)))
