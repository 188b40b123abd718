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
from typing import Any

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


async def _publish(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    kind: str,
    draft: dict[str, Any],
    *,
    upload: tuple[str, str],
    name: str,
    content: bytes,
    media_type: str | None = None,
) -> None:
    """Create a draft release or recording (`kind`), upload its file (`upload`: the method and
    where, under the draft), and publish it."""
    created = await client.post(f"/api/content/{kind}", json=draft, headers=admin)
    created.raise_for_status()
    draft_url = f"/api/content/{kind}/{created.json()['id']}"
    method, where = upload
    uploaded = await client.request(
        method,
        f"{draft_url}/{where}",
        params={"name": name},
        content=content,
        headers={**admin, **({"content-type": media_type} if media_type else {})},
    )
    uploaded.raise_for_status()
    published = await client.post(f"{draft_url}/publish", headers=admin)
    published.raise_for_status()


async def _publish_release(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    release = {
        "program": DEMO_PROGRAM,
        "version": "2026.12",
        "released_on": "2026-12-01",
        "notes_sl": "Nov obračun regresa za leto 2027 in popravki izpisa plačilne liste.",
        "notes_en": "New holiday-allowance calculation for 2027 and payslip print fixes.",
    }
    await _publish(
        client,
        admin,
        "releases",
        release,
        upload=("POST", "files"),
        name="Place-2026.12.zip",
        content=_demo_zip(),
    )


async def _publish_recording(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    recording = {
        "training_id": DEMO_TRAINING,
        "title": "Uvod v program Plače",
        "program": DEMO_PROGRAM,
        "held_on": "2025-09-15",
        "duration_s": 6,
        "description": "Prvi koraki v programu: vnos zaposlenih, obračun in izpis plač.",
    }
    await _publish(
        client,
        admin,
        "recordings",
        recording,
        upload=("PUT", "video"),
        name="uvod-v-place.mp4",
        content=DEMO_VIDEO.read_bytes(),
        media_type="video/mp4",
    )
