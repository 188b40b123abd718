"""The services by name: their settings, app factory, migrations and the topics they read.

For the command line (services/cli.py) and the generated documents and manifests (devstack/);
the shared runtime (services/runtime/) knows no service."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from services.runtime.settings import ServiceSettings

SERVICE_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    settings_class: str

    @property
    def factory(self) -> str:
        """The uvicorn `--factory` target."""
        return f"services.{self.name}.app:create_app"

    @property
    def migrations(self) -> Path:
        return SERVICE_ROOT / self.name / "migrations"

    def settings(self) -> ServiceSettings:
        """The service's settings from its `<PREFIX>_*` environment variables."""
        module = importlib.import_module(f"services.{self.name}.settings")
        settings: ServiceSettings = getattr(module, self.settings_class)()
        return settings


CATALOG: Final[dict[str, ServiceEntry]] = {
    entry.name: entry
    for entry in (
        ServiceEntry("auth", "AuthSettings"),
        ServiceEntry("tickets", "TicketsSettings"),
        ServiceEntry("billing", "BillingSettings"),
        ServiceEntry("notify", "NotifySettings"),
        ServiceEntry("content", "ContentSettings"),
    )
}


def consumed_topics() -> dict[str, list[str]]:
    """Consumer group (= service) -> the topics it reads, from the consumers themselves."""
    from services.billing.consumers import build_consumer as billing
    from services.billing.policy import PolicyParameters
    from services.content.consumers import build_consumer as content
    from services.notify.consumers import build_consumer as notify
    from services.tickets.consumers import build_consumer as tickets

    return {
        c.name: list(c.topics)
        for c in (tickets(), billing(PolicyParameters()), notify(portal_url=""), content())
    }
