"""`ticketing`: the production command line, what the container image runs.

ticketing serve SERVICE       run one service (the container image's entry point)
ticketing migrate SERVICE     apply a service's database migrations (the init container)
ticketing topics create       create the topics on a broker (operations, before services start)
ticketing schemas DIR         export the event contracts as JSON Schema

Where the development tools are installed (a checkout: devstack/), the same `ticketing` also has
theirs (`dev`, `docs`, `manifests`, `clock`; devstack/cli.py). The image holds no devstack/.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Final

from contracts.__main__ import export_schemas
from contracts.topics import ALL_TOPICS
from services.catalog import CATALOG
from services.runtime.db import RUNTIME_MIGRATIONS, create_pool, migrate
from services.runtime.kafka import ensure_topics
from services.runtime.logging import configure_logging

COMMANDS: Final = ("serve", "migrate", "topics", "schemas")
"""The production commands, the ones `run` carries out."""


def _say(line: str) -> None:
    print(line, flush=True)


async def _topics(args: argparse.Namespace) -> int:
    created = await ensure_topics(args.bootstrap, ALL_TOPICS, partitions=args.partitions)
    _say(f"created: {', '.join(created) or 'nothing (all existed)'}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Run one service (what the container image does)."""
    import uvicorn

    entry = CATALOG[args.service]
    uvicorn.run(
        entry.factory,
        factory=True,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        timeout_graceful_shutdown=30,
        log_config=None,  # the service configures structlog itself
    )
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    """Apply a service's pending migrations and exit (the Kubernetes init container)."""
    entry = CATALOG[args.service]
    settings = entry.settings()
    configure_logging(entry.name, fmt=settings.log_format, level=settings.log_level)
    pool = await create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=1)
    try:
        applied = await migrate(pool, {"runtime": RUNTIME_MIGRATIONS, entry.name: entry.migrations})
    finally:
        await pool.close()
    _say(f"{entry.name}: {len(applied)} migration(s) applied")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the production commands to a `ticketing` parser."""
    topics = commands.add_parser("topics", help="topic administration")
    topics.add_argument("action", choices=["create"])
    topics.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    topics.add_argument("--partitions", type=int, default=6)
    schemas = commands.add_parser("schemas", help="export the event JSON Schemas")
    schemas.add_argument("directory", type=Path)
    serve = commands.add_parser("serve", help="run one service (the container's entry point)")
    serve.add_argument("service", choices=sorted(CATALOG))
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container listens on all
    serve.add_argument("--port", type=int, default=8080)
    migrate_ = commands.add_parser("migrate", help="apply a service's database migrations")
    migrate_.add_argument("service", choices=sorted(CATALOG))


def run(args: argparse.Namespace) -> int:
    """Carry out a production command (one of `COMMANDS`); return the exit status."""
    if args.command == "serve":
        return _serve(args)
    if args.command == "migrate":
        return asyncio.run(_migrate(args))
    if args.command == "topics":
        return asyncio.run(_topics(args))
    for path in export_schemas(args.directory):
        _say(str(path))
    return 0


def production_parser() -> argparse.ArgumentParser:
    """The parser of the production commands alone."""
    parser = argparse.ArgumentParser(
        prog="ticketing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    """`ticketing`: with the development tools' commands where they are installed."""
    if importlib.util.find_spec("devstack") is not None:
        full: int = importlib.import_module("devstack.cli").main(argv)
        return full
    return run(production_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
