"""A consumer's handlers are registered by the event their signature names: one place says
which event a handler is for, so a subscription list cannot pair a handler with another event."""

from __future__ import annotations

from functools import partial

import pytest

from contracts.accounts import UserCreated, UserDeactivated
from services.runtime.consumer import EventConsumer, HandlerContext


async def on_user_created(ctx: HandlerContext, event: UserCreated) -> None:
    return None


async def on_user_deactivated(ctx: HandlerContext, event: UserDeactivated, *, note: str) -> None:
    return None


async def unannotated(ctx, event) -> None:  # type: ignore[no-untyped-def]
    return None


async def not_an_event(ctx: HandlerContext, event: str) -> None:
    return None


def test_each_handler_is_registered_for_the_event_its_signature_names() -> None:
    consumer = EventConsumer(name="test", topics=["accounts.events"])
    deactivated = partial(on_user_deactivated, note="bound")

    consumer.handle(on_user_created, deactivated)

    assert consumer.handlers == {"UserCreated": on_user_created, "UserDeactivated": deactivated}


@pytest.mark.parametrize("handler", [unannotated, not_an_event], ids=["unannotated", "not-event"])
def test_a_handler_that_names_no_event_is_refused(handler: object) -> None:
    consumer = EventConsumer(name="test", topics=["accounts.events"])

    with pytest.raises(TypeError, match="annotate its event parameter"):
        consumer.handle(handler)  # type: ignore[arg-type]
    assert consumer.handlers == {}
