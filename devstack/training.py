"""In `ticketing dev` (and the tests' stack) this plays the vendor's training system: it announces
that the demo customer was onboarded, so the demo's tickets meet the support policy as a real,
set-up customer's would."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts.envelope import new_envelope
from contracts.policy_inputs import OnboardingRecorded
from contracts.topics import TRAINING_EVENTS
from services.auth.demo import CUSTOMER
from services.runtime.clock import Clock

DEMO_PROGRAMS = ("Plače", "Fakturiranje", "DDV", "Računovodstvo", "Kadrovska evidenca")
DEMO_ONBOARDED_ON = date(2025, 9, 15)


async def announce_demo_onboarding(
    bootstrap: str, billing_dsn: str, *, clock: Clock, within: float = 60
) -> None:
    """Publish the demo customer's onboarding records and wait until billing has them all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for program in DEMO_PROGRAMS:
            event = OnboardingRecorded(
                org_id=CUSTOMER.org_id,
                user_id=CUSTOMER.id,
                program=program,
                kind="onboarding",
                completed_on=DEMO_ONBOARDED_ON,
                organization_setup_done=True,
            )
            envelope = new_envelope(
                event,
                source="training",
                aggregate_id=str(CUSTOMER.id),
                aggregate_version=1,
                org_id=CUSTOMER.org_id,
                correlation_id=f"devstack-onboarding-{uuid.uuid4()}",
                occurred_at=clock.now(),
            )
            await producer.send_and_wait(
                TRAINING_EVENTS,
                envelope.model_dump_json().encode(),
                key=str(CUSTOMER.id).encode(),
                headers=[("event_type", event.EVENT_TYPE.encode())],
            )
    finally:
        await producer.stop()
    deadline = time.monotonic() + within
    while True:
        conn = await asyncpg.connect(billing_dsn)
        try:
            known = await conn.fetchval(
                "SELECT count(DISTINCT program) FROM onboarding_records WHERE user_id = $1",
                CUSTOMER.id,
            )
        finally:
            await conn.close()
        if known >= len(DEMO_PROGRAMS):
            return
        if time.monotonic() > deadline:
            raise TimeoutError("billing did not record the demo onboarding in time")
        await asyncio.sleep(0.2)
