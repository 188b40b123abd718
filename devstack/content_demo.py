"""In `ticketing dev` (and the tests' stack) the demo customer's organization is licensed for
"Plače" (as the ERP would say) and ordered its introductory training (as the training system
would), and the vendor admin has published one release and one recording, so a person signing
in as the demo customer sees both at once.

The video `demo/uvod-v-place.mp4` is a real, playable six-second clip (a test picture and a
tone), made once with ffmpeg (`imageio-ffmpeg`'s binary):
`ffmpeg -f lavfi -i testsrc=size=320x180:rate=15:duration=6
-f lavfi -i sine=frequency=440:duration=6 -c:v libx264 -preset veryslow -crf 35
-pix_fmt yuv420p -c:a aac -b:a 32k -movflags +faststart -shortest uvod-v-place.mp4`.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import date, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from contracts.common import EventModel
from contracts.content import ProgramLicenceChanged, TrainingOrderChanged
from contracts.envelope import new_envelope
from contracts.topics import ERP_EVENTS, TRAINING_EVENTS
from services.auth.demo import CUSTOMER, VENDOR_ADMIN
from services.runtime.clock import Clock

DEMO_PROGRAM = "Plače"
DEMO_TRAINING = "PLACE-UVOD-2025"
DEMO_VIDEO = Path(__file__).parent / "demo" / "uvod-v-place.mp4"
LICENSED_FROM = date(2025, 9, 1)


async def seed_demo_content(
    bootstrap: str, gateway_url: str, *, password: str, clock: Clock
) -> None:
    """Announce the demo licence and training order, and publish the demo release and recording
    unless a release of the demo program exists already (a restarted stack keeps its state)."""
    await _announce(bootstrap, clock.now())
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        login = await client.post(
            "/api/auth/login", json={"email": VENDOR_ADMIN.email, "password": password}
        )
        login.raise_for_status()
        admin = {"authorization": f"Bearer {login.json()['access_token']}"}
        existing = await client.get(
            "/api/content/releases",
            params={"program": DEMO_PROGRAM, "drafts": "true"},
            headers=admin,
        )
        existing.raise_for_status()
        if existing.json()["items"]:
            return
        await _publish_release(client, admin)
        await _publish_recording(client, admin)


async def _announce(bootstrap: str, now: datetime) -> None:
    events: list[tuple[str, EventModel]] = [
        (
            ERP_EVENTS,
            ProgramLicenceChanged(
                org_id=CUSTOMER.org_id,
                program=DEMO_PROGRAM,
                licensed=True,
                valid_from=LICENSED_FROM,
            ),
        ),
        (
            TRAINING_EVENTS,
            TrainingOrderChanged(
                org_id=CUSTOMER.org_id, training_id=DEMO_TRAINING, ordered=True, as_of=now
            ),
        ),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for topic, event in events:
            envelope = new_envelope(
                event,
                source="erp" if topic == ERP_EVENTS else "training",
                aggregate_id=str(CUSTOMER.org_id),
                aggregate_version=1,
                org_id=CUSTOMER.org_id,
                correlation_id=f"devstack-content-{uuid.uuid4()}",
                occurred_at=now,
            )
            await producer.send_and_wait(
                topic, envelope.model_dump_json().encode(), key=str(CUSTOMER.org_id).encode()
            )
    finally:
        await producer.stop()


def _demo_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "BERIME.txt",
            "Plače 2026.12\n\nNamestitev: razširite arhiv in zaženite namestitveni program.\n",
        )
    return buffer.getvalue()


async def _publish_release(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    created = await client.post(
        "/api/content/releases",
        json={
            "program": DEMO_PROGRAM,
            "version": "2026.12",
            "released_on": "2026-12-01",
            "notes_sl": "Nov obračun regresa za leto 2027 in popravki izpisa plačilne liste.",
            "notes_en": "New holiday-allowance calculation for 2027 and payslip print fixes.",
        },
        headers=admin,
    )
    created.raise_for_status()
    release_id = created.json()["id"]
    uploaded = await client.post(
        f"/api/content/releases/{release_id}/files",
        params={"name": "Place-2026.12.zip"},
        content=_demo_zip(),
        headers=admin,
    )
    uploaded.raise_for_status()
    published = await client.post(f"/api/content/releases/{release_id}/publish", headers=admin)
    published.raise_for_status()


async def _publish_recording(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    created = await client.post(
        "/api/content/recordings",
        json={
            "training_id": DEMO_TRAINING,
            "title": "Uvod v program Plače",
            "program": DEMO_PROGRAM,
            "held_on": "2025-09-15",
            "duration_s": 6,
            "description": "Prvi koraki v programu: vnos zaposlenih, obračun in izpis plač.",
        },
        headers=admin,
    )
    created.raise_for_status()
    recording_id = created.json()["id"]
    uploaded = await client.put(
        f"/api/content/recordings/{recording_id}/video",
        params={"name": "uvod-v-place.mp4"},
        content=DEMO_VIDEO.read_bytes(),
        headers={**admin, "content-type": "video/mp4"},
    )
    uploaded.raise_for_status()
    published = await client.post(f"/api/content/recordings/{recording_id}/publish", headers=admin)
    published.raise_for_status()
