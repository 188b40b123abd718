"""Use cases of the billing service's decisions: made from ticket events, and overridden by a
consultant (the policy inputs: inputs.py; the monthly statements: statements.py)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import structlog

from contracts.billing import TicketClassified
from contracts.common import Decision
from contracts.tickets import TicketCreated, TicketResolved
from services.billing import decision_repository, inputs_repository, repeat_repository, repository
from services.billing.policy import (
    PolicyDecision,
    PolicyInputs,
    PolicyParameters,
    TicketFacts,
    WorkFacts,
    as_record,
    final_decision,
    provisional_decision,
)
from services.runtime.consumer import Delivery, HandlerContext
from services.runtime.db import Connection
from services.runtime.identity import Principal
from services.runtime.outbox import emit
from services.runtime.parking import NotYetKnownError

log = structlog.get_logger(__name__)

SOURCE = "billing"


def _classified(stored: decision_repository.StoredDecision) -> TicketClassified:
    return TicketClassified(
        ticket_id=stored.ticket_id,
        org_id=stored.org_id,
        stage=stored.stage,
        decision=stored.decision,
        reasons=stored.reasons,
        policy_version=stored.policy_version,
        decided_at=stored.decided_at,
        deferred_until=stored.deferred_until,
        overridden_by=stored.overridden_by,
        justification=stored.justification,
    )


async def _inputs(
    conn: Connection, ticket: repository.BillingTicket, params: PolicyParameters, at: datetime
) -> PolicyInputs:
    """The inputs in force at `at` (submission for the provisional decision, resolution for the
    final one), and the earlier ticket that asked the same, if any."""
    known = await inputs_repository.inputs_in_force(conn, org_id=ticket.org_id, at=at)
    earlier = await repeat_repository.most_similar_earlier(
        conn, ticket=ticket, threshold=params.repeat_similarity
    )
    return dataclasses.replace(known, earlier=earlier)


def _stored(
    ticket: repository.BillingTicket,
    outcome: PolicyDecision,
    *,
    stage: str,
    inputs: PolicyInputs,
    now: datetime,
    version: int = 1,
) -> decision_repository.StoredDecision:
    return decision_repository.StoredDecision(
        ticket_id=ticket.ticket_id,
        stage=stage,  # type: ignore[arg-type]
        org_id=ticket.org_id,
        decision=outcome.decision,
        reasons=outcome.reasons,
        policy_version=outcome.policy_version,
        deferred_until=outcome.deferred_until,
        decided_at=now,
        version=version,
        inputs=as_record(inputs),
    )


async def _announce(ctx: HandlerContext, stored: decision_repository.StoredDecision) -> None:
    await ctx.emit(
        _classified(stored),
        aggregate_id=stored.ticket_id,
        aggregate_version=stored.version,
        org_id=stored.org_id,
    )


async def _decide(
    ctx: HandlerContext,
    ticket: repository.BillingTicket,
    outcome: PolicyDecision,
    *,
    stage: str,
    inputs: PolicyInputs,
    now: datetime,
) -> None:
    version = await decision_repository.next_decision_version(ctx.conn, ticket_id=ticket.ticket_id)
    stored = _stored(ticket, outcome, stage=stage, inputs=inputs, now=now, version=version)
    if not await decision_repository.insert_decision(
        ctx.conn, decision=stored, source_event_id=ctx.envelope.event_id
    ):
        log.info("decision made from this event before", stage=stage)
        return
    await _announce(ctx, stored)
    log.debug(
        "ticket classified",
        stage=stage,
        decision=stored.decision,
        codes=[r.code for r in stored.reasons],
        version=version,
    )


async def classify_new_tickets(
    conn: Connection, deliveries: Sequence[Delivery[TicketCreated]], params: PolicyParameters
) -> None:
    """Remember the tickets and make each its provisional decision, a run of them at once: one
    statement per step for the whole run, the policy itself applied ticket by ticket."""
    await repository.remember_tickets(conn, tickets=[_announced(d.event) for d in deliveries])
    known = await repository.lock_tickets(conn, ticket_ids=[d.event.ticket_id for d in deliveries])
    decided = await decision_repository.decided(conn, ticket_ids=list(known))
    todo: dict[uuid.UUID, Delivery[TicketCreated]] = {}
    for delivery in deliveries:
        ticket_id = delivery.event.ticket_id
        if ticket_id in decided or ticket_id in todo:
            log.info("ticket already has a provisional decision", ticket_id=str(ticket_id))
            continue
        todo[ticket_id] = delivery
    if not todo:
        return
    tickets = [known[ticket_id] for ticket_id in todo]
    histories = await inputs_repository.inputs_histories(
        conn,
        org_ids=sorted({t.org_id for t in tickets}),
        until=max(t.facts.submitted_at for t in tickets),
    )
    earlier = await repeat_repository.most_similar_earlier_many(
        conn, tickets=tickets, threshold=params.repeat_similarity
    )
    decisions = []
    for ticket in tickets:
        at = ticket.facts.submitted_at
        inputs = dataclasses.replace(
            histories[ticket.org_id].in_force(at), earlier=earlier.get(ticket.ticket_id)
        )
        outcome = provisional_decision(ticket.facts, params, inputs)
        ctx = todo[ticket.ticket_id].ctx
        decisions.append(
            (ctx, _stored(ticket, outcome, stage="provisional", inputs=inputs, now=ctx.clock.now()))
        )
    made_now = await decision_repository.insert_decisions(
        conn, decisions=[(stored, ctx.envelope.event_id) for ctx, stored in decisions]
    )
    for ctx, stored in decisions:
        if ctx.envelope.event_id in made_now:
            await _announce(ctx, stored)
    log.debug("tickets classified", decisions=len(made_now))


def _announced(created: TicketCreated) -> repository.BillingTicket:
    return repository.BillingTicket(
        created.ticket_id,
        created.org_id,
        created.number,
        created.subject,
        created.body,
        TicketFacts(
            channel=created.channel,
            submitted_at=created.submitted_at,
            requester_id=created.requester.user_id,
            topic=created.topic,
            program=created.program,
        ),
    )


async def classify_resolved_ticket(
    ctx: HandlerContext, resolved: TicketResolved, params: PolicyParameters
) -> None:
    """Record the work done and make the final decision (again after each resolution)."""
    try:
        ticket = await repository.get_ticket(
            ctx.conn, ticket_id=resolved.ticket_id, org_id=resolved.org_id, for_update=True
        )
    except repository.NotFoundError:
        raise NotYetKnownError(f"resolved ticket {resolved.ticket_id} not announced yet") from None
    await repository.record_resolution(
        ctx.conn,
        ticket_id=ticket.ticket_id,
        work=WorkFacts(
            resolved_at=resolved.resolved_at,
            minutes=resolved.time_spent_minutes,
            remote_session=resolved.remote_session,
            data_correction=resolved.data_correction,
            training=resolved.training,
            doc_reference=resolved.doc_reference,
            other_remote_service=resolved.other_remote_service,
        ),
        source_event_id=ctx.envelope.event_id,
    )
    work = await repository.work_on(ctx.conn, ticket_id=ticket.ticket_id)
    assert work is not None
    inputs = await _inputs(ctx.conn, ticket, params, work.resolved_at)
    outcome = final_decision(ticket.facts, work, params, inputs)
    await _decide(ctx, ticket, outcome, stage="final", inputs=inputs, now=ctx.clock.now())


class NotAllowedError(PermissionError):
    """The caller's role may not do this."""


async def override(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    decision: Decision,
    justification: str,
    now: datetime,
) -> decision_repository.StoredDecision:
    """A consultant replaces the policy's decision, with a written justification; recorded and
    published like any decision (the tickets service shows it, notify tells the customer)."""
    if not principal.is_staff:
        raise NotAllowedError("Only consultants override a decision.")
    async with pool.acquire() as conn, conn.transaction():
        ticket = await repository.get_ticket(
            conn, ticket_id=ticket_id, org_id=None, for_update=True
        )
        history = await decision_repository.decisions_for_ticket(
            conn, ticket_id=ticket_id, org_id=None
        )
        if not history:
            raise repository.NotFoundError(str(ticket_id))
        latest = history[-1]
        stored = dataclasses.replace(
            latest,
            stage="final",
            decision=decision,
            decided_at=now,
            deferred_until=None,
            version=latest.version + 1,
            overridden_by=principal.user_id,
            justification=justification,
        )
        await decision_repository.insert_decision(
            conn, decision=stored, source_event_id=uuid.uuid4()
        )
        await emit(
            conn,
            _classified(stored),
            source=SOURCE,
            aggregate_id=ticket.ticket_id,
            aggregate_version=stored.version,
            org_id=ticket.org_id,
            occurred_at=now,
        )
    log.info("decision overridden", ticket_id=str(ticket_id), decision=decision)
    return stored


async def fill_repeat_bands(pool: asyncpg.Pool, *, batch: int) -> int:
    """Give tickets remembered before P-REPEAT kept bands theirs, a batch per transaction; the
    number filled (a one-time catch-up after migration 005, then nothing to do)."""
    async with pool.acquire() as conn, conn.transaction():
        filled = await repeat_repository.fill_missing_bands(conn, limit=batch)
    if filled:
        log.info("P-REPEAT bands computed for earlier tickets", tickets=filled)
    return filled
