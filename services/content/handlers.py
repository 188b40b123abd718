"""What the content service does with the events it reads: who may see what."""

from __future__ import annotations

import structlog

from contracts.content import ProgramLicenceChanged, TrainingOrderChanged
from services.content import entitlement_repository
from services.runtime.consumer import HandlerContext

log = structlog.get_logger(__name__)


async def on_licence_changed(ctx: HandlerContext, event: ProgramLicenceChanged) -> None:
    """The ERP licensed an organization for a program from a day, or no longer from that day."""
    await entitlement_repository.record_licence(
        ctx.conn,
        org_id=event.org_id,
        program=event.program,
        licensed=event.licensed,
        valid_from=event.valid_from,
        source="erp",
        recorded_at=ctx.clock.now(),
        source_event_id=ctx.envelope.event_id,
    )
    log.debug("licence recorded", org_id=str(event.org_id), program=event.program)


async def on_training_order_changed(ctx: HandlerContext, event: TrainingOrderChanged) -> None:
    """The training system says an organization ordered a training (or no longer)."""
    await entitlement_repository.record_training_order(
        ctx.conn,
        org_id=event.org_id,
        training_id=event.training_id,
        ordered=event.ordered,
        as_of=event.as_of,
        source="training",
        recorded_at=ctx.clock.now(),
        source_event_id=ctx.envelope.event_id,
    )
    log.debug("training order recorded", org_id=str(event.org_id), training=event.training_id)
