"""The whole system on one machine: infrastructure, topics, SMTP capture, five services, gateway.

Used by `ticketing dev` and by the end-to-end tests, so both exercise the same start-up.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contracts.topics import ALL_TOPICS
from devstack.content_demo import seed_demo_content
from devstack.infra import (
    Endpoints,
    Infrastructure,
    choose_infrastructure,
    free_port,
    provision_databases,
)
from devstack.processes import ChildProcess
from devstack.smtp import CapturedEmail, SmtpCapture
from devstack.training import announce_demo_onboarding
from services.runtime.clock import ControlledClock
from services.runtime.kafka import ensure_topics

SERVICES = ("auth", "tickets", "billing", "notify", "content")
# The demo users' password on this machine only (`ticketing dev` prints it).
DEMO_PASSWORD = "demo-geslo-2026"  # noqa: S105 - a documented development value
TOPIC_PARTITIONS = 6


def uvicorn_argv(factory: str, port: int) -> list[str]:
    """The command line of one app of the stack (a `--factory` target) on a local port."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "20",
    ]


@dataclass
class StackConfig:
    state_dir: Path
    gateway_port: int = 8000
    service_ports: dict[str, int] = field(default_factory=dict)
    smtp_port: int | None = None
    seed_demo: bool = True
    log_format: str = "json"
    environment: str = "development"
    """What the services are told they run in: `development` (`ticketing dev`) or `test`."""
    extra_env: dict[str, str] = field(default_factory=dict)


class Stack:
    """Starts and stops everything in order; exposes the parts for fault-injection tests."""

    def __init__(
        self,
        config: StackConfig,
        *,
        infrastructure: Infrastructure | None = None,
        on_ready: Callable[[str, str, float], None] | None = None,
        on_mail: Callable[[CapturedEmail], None] | None = None,
    ) -> None:
        self.config = config
        self.infrastructure = infrastructure or choose_infrastructure(config.state_dir / "infra")
        self.on_ready = on_ready or (lambda name, url, seconds: None)
        self.on_mail = on_mail
        self.endpoints: Endpoints | None = None
        self.database_urls: dict[str, str] = {}
        self.processes: dict[str, ChildProcess] = {}
        self.urls: dict[str, str] = {}
        self.smtp: SmtpCapture | None = None
        self.clock = ControlledClock(self.clock_file)
        """Every service of the stack runs on this clock (docs/time.md); set it to move time."""

    @property
    def clock_file(self) -> Path:
        return self.config.state_dir / "clock.json"

    @property
    def mail_dir(self) -> Path:
        return self.config.state_dir / "mail"

    @property
    def content_dir(self) -> Path:
        """Where the content service keeps its files (its filesystem storage)."""
        return self.config.state_dir / "content-files"

    @property
    def log_dir(self) -> Path:
        return self.config.state_dir / "logs"

    @property
    def gateway_url(self) -> str:
        return self.urls["gateway"]

    async def start(self) -> None:
        started = time.monotonic()
        self.endpoints = await asyncio.to_thread(self.infrastructure.start)
        self.database_urls = await provision_databases(
            self.endpoints.postgres_admin_dsn, list(SERVICES)
        )
        await ensure_topics(self.endpoints.kafka_bootstrap, ALL_TOPICS, partitions=TOPIC_PARTITIONS)
        smtp_port = self.config.smtp_port or free_port()
        self.smtp = SmtpCapture(self.mail_dir, port=smtp_port, on_mail=self.on_mail)
        self.smtp.start()
        for name in SERVICES:
            port = self.config.service_ports.get(name) or free_port()
            self.urls[name] = f"http://127.0.0.1:{port}"
        for name in SERVICES:
            port = int(self.urls[name].rsplit(":", 1)[1])
            self.processes[name] = self._uvicorn(
                name, f"services.{name}.app:create_app", port, self._service_env(name, smtp_port)
            )
        gateway_env = {f"GATEWAY_{n.upper()}_URL": self.urls[n] for n in SERVICES}
        gateway_env["GATEWAY_LOG_FORMAT"] = self.config.log_format
        gateway_env |= {k: v for k, v in self.config.extra_env.items() if k.startswith("GATEWAY_")}
        self.urls["gateway"] = f"http://127.0.0.1:{self.config.gateway_port}"
        # The gateway judges forwarding headers itself (GATEWAY_TRUSTED_PROXIES): uvicorn must
        # hand it the connecting peer, not an address it took from X-Forwarded-For.
        self.processes["gateway"] = self._uvicorn(
            "gateway",
            "services.gateway.app:create_app",
            self.config.gateway_port,
            gateway_env,
            extra_args=["--no-proxy-headers"],
        )
        for process in self.processes.values():
            process.start()
        await asyncio.gather(*(self.wait_ready(n, since=started) for n in self.processes))
        await announce_demo_onboarding(
            self.endpoints.kafka_bootstrap, self.database_urls["billing"], clock=self.clock
        )
        if self.config.seed_demo:
            await seed_demo_content(
                self.endpoints.kafka_bootstrap,
                self.gateway_url,
                password=DEMO_PASSWORD,
                clock=self.clock,
            )

    def _service_env(self, name: str, smtp_port: int) -> dict[str, str]:
        assert self.endpoints is not None
        prefix = name.upper()
        env = {
            f"{prefix}_DATABASE_URL": self.database_urls[name],
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": self.endpoints.kafka_bootstrap,
            f"{prefix}_LOG_FORMAT": self.config.log_format,
            f"{prefix}_AUTH_JWKS_URL": f"{self.urls['auth']}/api/auth/.well-known/jwks.json",
            f"{prefix}_ENVIRONMENT": self.config.environment,
            f"{prefix}_CLOCK_FILE": str(self.clock_file),
            # `ticketing status` and the tests read fresh gauges (docs/metrics.md).
            f"{prefix}_METRICS_REFRESH_S": "1",
        }
        if name == "auth":
            env["AUTH_PORTAL_URL"] = f"http://127.0.0.1:{self.config.gateway_port}"
            env["AUTH_COOKIE_SECURE"] = "false"  # plain HTTP on this machine
            if self.config.seed_demo:
                env["AUTH_SEED_DEMO"] = "true"
                env["AUTH_DEMO_PASSWORD"] = DEMO_PASSWORD
        if name == "notify":
            env["NOTIFY_SMTP_HOST"] = "127.0.0.1"
            env["NOTIFY_SMTP_PORT"] = str(smtp_port)
            env["NOTIFY_PORTAL_URL"] = f"http://127.0.0.1:{self.config.gateway_port}"
        if name == "content":
            env["CONTENT_STORAGE_PATH"] = str(self.content_dir)
        return {**env, **self.config.extra_env}

    def _uvicorn(
        self,
        name: str,
        factory: str,
        port: int,
        env: dict[str, str],
        extra_args: list[str] | None = None,
    ) -> ChildProcess:
        argv = [*uvicorn_argv(factory, port), *(extra_args or [])]
        return ChildProcess(
            name, argv, log_path=self.log_dir / f"{name}.log", env={**os.environ, **env}
        )

    async def wait_ready(
        self, name: str, *, since: float | None = None, within: float = 90
    ) -> None:
        """Poll the process's `/readyz` until it answers 200."""
        since = since if since is not None else time.monotonic()
        process, url = self.processes[name], self.urls[name]
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if not process.running():
                    raise RuntimeError(f"{name} exited during start-up:\n{process.log_tail()}")
                try:
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        self.on_ready(name, url, time.monotonic() - since)
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{name} not ready after {within}s:\n{process.log_tail()}")

    async def restart(self, name: str, *, extra_env: dict[str, str] | None = None) -> None:
        """Stop a process (if running) and start it again, optionally with more environment."""
        process = self.processes[name]
        await asyncio.to_thread(process.stop)
        process.start(extra_env)
        await self.wait_ready(name)

    async def stop(self) -> None:
        """Stop the gateway and services (gracefully, in parallel), then SMTP and infrastructure."""
        if "gateway" in self.processes:
            await asyncio.to_thread(self.processes["gateway"].stop)
        await asyncio.gather(
            *(asyncio.to_thread(p.stop) for n, p in self.processes.items() if n != "gateway")
        )
        if self.smtp is not None:
            self.smtp.stop()
        await asyncio.to_thread(self.infrastructure.stop)
