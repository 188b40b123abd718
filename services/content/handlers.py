"""What the content service does with the events it reads: who may see what."""

from __future__ import annotations

import structlog

from contracts.content import ProgramLicenceChanged, TrainingOrderChanged
from services.content import entitlement_repository
from services.content.entitlement_repository import LicenceChange, TrainingOrderChange
from services.runtime.consumer import HandlerContext

log = structlog.get_logger(__name__)


async def on_licence_changed(ctx: HandlerContext, event: ProgramLicenceChanged) -> None:
    """The ERP licensed an organization for a program from a day, or no longer from that day."""
    change = LicenceChange(
        event.program, event.licensed, event.valid_from, "erp", recorded_at=ctx.clock.now()
    )
    await entitlement_repository.record_change(
        ctx.conn, org_id=event.org_id, change=change, source_event_id=ctx.envelope.event_id
    )
    log.debug("licence recorded", org_id=str(event.org_id), program=event.program)


async def on_training_order_changed(ctx: HandlerContext, event: TrainingOrderChanged) -> None:
    """The training system says an organization ordered a training (or no longer)."""
    change = TrainingOrderChange(
        event.training_id, event.ordered, event.as_of, "training", recorded_at=ctx.clock.now()
    )
    await entitlement_repository.record_change(
        ctx.conn, org_id=event.org_id, change=change, source_event_id=ctx.envelope.event_id
    )
    log.debug("training order recorded", org_id=str(event.org_id), training=event.training_id)
