"""Every published (event type, version), the model that reads it, and the topic it goes to.

Derived from the event classes themselves: a class in one of `EVENT_MODULES` that sets
`EVENT_TYPE` is an event, and names its version, topic and key (contracts/common.py `EventModel`).
Adding an event is adding its class (and its stored fixture, tests/contract/fixtures).
"""

from __future__ import annotations

from types import ModuleType
from typing import Final

from contracts import accounts, billing, content, policy_inputs, tickets
from contracts.common import EventKey, EventModel
from contracts.topics import ALL_TOPICS, DEAD_LETTER

EventPayload = EventModel

EVENT_MODULES: Final = (tickets, billing, policy_inputs, content, accounts)
"""The modules that hold event classes."""


class ContractError(TypeError):
    """An event class does not say all it must (its version, topic or key), or says it twice."""


def _events_of(module: ModuleType) -> list[type[EventModel]]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, EventModel)
        and value.__module__ == module.__name__
        and "EVENT_TYPE" in vars(value)
    ]


def _checked(model: type[EventModel]) -> type[EventModel]:
    name = model.__name__
    if model.EVENT_VERSION < 1:
        raise ContractError(f"{name} names no EVENT_VERSION")
    if model.TOPIC not in ALL_TOPICS or model.TOPIC == DEAD_LETTER:
        raise ContractError(f"{name} names no topic it may be published to: {model.TOPIC!r}")
    if model.KEY is None or model.KEY.path.split(".")[0] not in model.model_fields:
        raise ContractError(f"{name} names no KEY among its fields")
    return model


def registry_of(modules: tuple[ModuleType, ...]) -> dict[tuple[str, int], type[EventModel]]:
    """(event type, version) -> model, of the event classes the modules define; raises
    `ContractError` when a class does not say all it must or two say the same."""
    models: dict[tuple[str, int], type[EventModel]] = {}
    for module in modules:
        for model in _events_of(module):
            known = (model.EVENT_TYPE, model.EVENT_VERSION)
            if known in models:
                raise ContractError(
                    f"{known} is both {models[known].__name__} and {model.__name__}"
                )
            models[known] = _checked(model)
    return models


EVENT_MODELS: Final[dict[tuple[str, int], type[EventModel]]] = registry_of(EVENT_MODULES)


def _topics() -> dict[str, str]:
    topics: dict[str, str] = {}
    for (event_type, _), model in sorted(EVENT_MODELS.items()):
        if topics.setdefault(event_type, model.TOPIC) != model.TOPIC:
            raise ContractError(f"the versions of {event_type} name different topics")
    return topics


TOPIC_OF_EVENT: Final[dict[str, str]] = _topics()
"""Event type -> the topic it is published to (every version of a type goes to the same one)."""


def key_of(model: type[EventModel]) -> EventKey:
    """The record key a registered event names."""
    if model.KEY is None:
        raise ContractError(f"{model.__name__} is not an event")
    return model.KEY


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
