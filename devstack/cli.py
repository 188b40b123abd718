"""`ticketing`: the project's command line.

ticketing dev                 the whole system on this machine, until Ctrl-C
ticketing topics create       create the topics on a broker (operations, before services start)
ticketing schemas DIR         export the event contracts as JSON Schema
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
from pathlib import Path

from contracts.__main__ import export_schemas
from contracts.topics import ALL_TOPICS
from devstack.smtp import CapturedEmail
from devstack.stack import DEMO_PASSWORD, SERVICES, Stack, StackConfig
from services.auth.demo import CONSULTANT, CUSTOMER, DEMO_ORG, VENDOR_ADMIN
from services.runtime.kafka import ensure_topics


def _say(line: str) -> None:
    print(line, flush=True)


def _ready_line(name: str, url: str, seconds: float) -> None:
    _say(f"  ready  {name:<8} {url:<24} after {seconds:4.1f} s")


def _mail_line(mail: CapturedEmail) -> None:
    _say(f"  mail   to {mail.to}: {mail.subject!r} -> {mail.path}")


def _usage(stack: Stack) -> str:
    gw = stack.gateway_url
    login = (
        f"curl -s -X POST {gw}/api/auth/login -H 'content-type: application/json' "
        f'-d \'{{"email": "{CUSTOMER.email}", "password": "{DEMO_PASSWORD}"}}\''
    )
    return f"""
Demo users (password on this machine: {DEMO_PASSWORD}):
  customer + customer admin  {CUSTOMER.email}   ({DEMO_ORG.name})
  consultant                 {CONSULTANT.email}
  vendor admin               {VENDOR_ADMIN.email}

  TOKEN=$({login} | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -X POST {gw}/api/tickets -H "authorization: Bearer $TOKEN" \\
       -H 'content-type: application/json' \\
       -d '{{"subject": "Izpis plačilne liste", "body": "Kako natisnem plačilno listo?",
            "topic": "program_usage", "program": "Plače"}}'
  curl -s {gw}/api/tickets -H "authorization: Bearer $TOKEN"

As the consultant ({CONSULTANT.email}): GET {gw}/api/tickets/queue, then POST to
{gw}/api/tickets/<id>/accept, .../messages {{"body", "internal"}} and
.../resolve {{"resolution", "time_spent_minutes"}}; the customer may .../reopen {{"reason"}} or
.../close. GET {gw}/api/tickets/<id> shows the timeline and the correspondence.

Password reset: POST {{"email": ...}} to {gw}/api/auth/password/forgot, open the captured
e-mail, and POST {{"token", "password", "password_repeated"}} to {gw}/api/auth/password/reset.

Captured e-mails (.eml): {stack.mail_dir}
Service logs:            {stack.log_dir}/<service>.log
Press Ctrl-C to stop everything."""


async def _dev(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.resolve()
    # The embedded broker keeps nothing on disk, so neither does the database: every start is fresh.
    shutil.rmtree(state_dir, ignore_errors=True)
    ports = {name: args.port + 1 + i for i, name in enumerate(SERVICES)}
    stack = Stack(
        StackConfig(
            state_dir=state_dir,
            gateway_port=args.port,
            service_ports=ports,
            smtp_port=args.smtp_port,
            log_format="json",
        ),
        on_ready=_ready_line,
        on_mail=_mail_line,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _say("ticketing dev: starting ...")
    try:
        start = asyncio.create_task(stack.start())
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({start, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if start in done:
            start.result()
            assert stack.endpoints is not None
            _say(f"infrastructure: {stack.endpoints.description}")
            _say(_usage(stack))
            await waiter
        else:
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
    finally:
        _say("\nstopping ...")
        await stack.stop()
        _say("stopped; no process left behind.")
    return 0


async def _topics(args: argparse.Namespace) -> int:
    created = await ensure_topics(args.bootstrap, ALL_TOPICS, partitions=args.partitions)
    _say(f"created: {', '.join(created) or 'nothing (all existed)'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ticketing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the whole system locally until Ctrl-C")
    dev.add_argument(
        "--port", type=int, default=8000, help="gateway port; services use the next four"
    )
    dev.add_argument(
        "--smtp-port", type=int, default=None, help="SMTP capture port (default: free)"
    )
    dev.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".devstack"),
        help="where data, logs and captured e-mails go (wiped at start)",
    )
    topics = commands.add_parser("topics", help="topic administration")
    topics.add_argument("action", choices=["create"])
    topics.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    topics.add_argument("--partitions", type=int, default=6)
    schemas = commands.add_parser("schemas", help="export the event JSON Schemas")
    schemas.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dev":
        return asyncio.run(_dev(args))
    if args.command == "topics":
        return asyncio.run(_topics(args))
    for path in export_schemas(args.directory):
        _say(str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
