"""`ticketing`: the project's command line, with the development tools.

ticketing dev                 the whole system on this machine, until Ctrl-C
ticketing topics create       create the topics on a broker (operations, before services start)
ticketing schemas DIR         export the event contracts as JSON Schema
ticketing serve SERVICE       run one service (the container image's entry point)
ticketing migrate SERVICE     apply a service's database migrations (the init container)
ticketing docs [DIR]          write the OpenAPI and AsyncAPI documents (docs/api)
ticketing manifests [DIR]     write the generated Kubernetes base (deploy/base)
ticketing clock [show|set WHEN|advance BY|reset]
                              the dev stack's business time (docs/time.md)
ticketing status              per service of `ticketing dev`: consumer lag, outbox backlog, dead
                              letters, pending e-mails (from the services' /metrics)

`topics`, `schemas`, `serve` and `migrate` are the production command line (services/cli.py),
the whole of `ticketing` in the container image.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.docs import render_all
from services import cli as production
from services.auth.demo import CONSULTANT, CUSTOMER, DEMO_ORG, VENDOR_ADMIN

if TYPE_CHECKING:  # the local stack needs the dev extras
    from devstack.smtp import CapturedEmail
    from devstack.stack import Stack


def _say(line: str) -> None:
    print(line, flush=True)


def _ready_line(name: str, url: str, seconds: float) -> None:
    _say(f"  ready  {name:<8} {url:<24} after {seconds:4.1f} s")


def _mail_line(mail: CapturedEmail) -> None:
    _say(f"  mail   to {mail.to}: {mail.subject!r} -> {mail.path}")


def _usage(stack: Stack) -> str:
    from devstack.stack import DEMO_PASSWORD

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

Downloads and trainings (the demo customer's organization is licensed for Plače):
  curl -s {gw}/api/content/releases -H "authorization: Bearer $TOKEN"
  curl -s {gw}/api/content/recordings -H "authorization: Bearer $TOKEN"
  then GET the `url` of a file (a video plays by range: -H 'range: bytes=0-1023'). As the
  vendor admin: POST {gw}/api/content/releases, POST .../<id>/files?name=setup.zip with the
  file as the body, POST .../<id>/publish; GET {gw}/api/content/downloads.

Password reset: POST {{"email": ...}} to {gw}/api/auth/password/forgot, open the captured
e-mail, and POST {{"token", "password", "password_repeated"}} to {gw}/api/auth/password/reset.

Business time (every service at once): ticketing clock [show | set 2026-12-25T10:00 |
advance 15d | reset] --state-dir {stack.config.state_dir}

Captured e-mails (.eml): {stack.mail_dir}
Service logs:            {stack.log_dir}/<service>.log
Press Ctrl-C to stop everything."""


async def _dev(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.resolve()
    # The embedded broker keeps nothing on disk, so neither does the database: every start is fresh.
    shutil.rmtree(state_dir, ignore_errors=True)
    from devstack.stack import SERVICES, Stack, StackConfig

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
            watching = asyncio.create_task(_say_when_behind(stack.urls, stop))
            await waiter
            await watching
        else:
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await start
    finally:
        _say("\nstopping ...")
        await stack.stop()
        _say("stopped; no process left behind.")
    return 0


STATUS_EVERY_S = 5.0


async def _say_when_behind(urls: dict[str, str], stop: asyncio.Event) -> None:
    """Every few seconds, one line naming what is behind (nothing while all is caught up)."""
    from devstack.status import behind_line, read_status

    services = {name: url for name, url in urls.items() if name != "gateway"}
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=STATUS_EVERY_S)
        if not stop.is_set() and (line := behind_line(await read_status(services))):
            _say(line)


async def _status(args: argparse.Namespace) -> int:
    """What `ticketing dev`'s services have waiting, from their metrics endpoints."""
    from devstack.stack import SERVICES
    from devstack.status import read_status

    urls = {name: f"http://{args.host}:{args.port + 1 + i}" for i, name in enumerate(SERVICES)}
    statuses = await read_status(urls)
    for status in statuses:
        _say(status.line())
    return 0 if all(s.reachable for s in statuses) else 1


def _clock(args: argparse.Namespace) -> int:
    """Show or move the business time of a running `ticketing dev` (every service at once)."""
    from devstack.clock_text import parse_duration, parse_moment
    from services.runtime.clock import ControlledClock
    from services.runtime.local_time import format_moment

    clock = ControlledClock(args.state_dir.resolve() / "clock.json")
    try:
        if args.action == "set":
            clock.set(parse_moment(_one(args.value, "set")))
        elif args.action == "advance":
            clock.advance(parse_duration(_one(args.value, "advance")))
        elif args.action == "reset":
            clock.reset()
    except ValueError as error:
        _say(f"ticketing clock: {error}")
        return 2
    now, offset = clock.now(), clock.offset()
    _say(f"business time: {format_moment(now, 'en')} Ljubljana ({now.isoformat()})")
    _say(f"offset from the real clock: {offset} ({offset.total_seconds():+.0f} s)")
    return 0


def _one(value: str | None, action: str) -> str:
    if not value:
        raise ValueError(f"'{action}' needs a value, e.g. 'clock set 2026-12-25T10:00'")
    return value


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
    production.add_commands(commands)
    docs = commands.add_parser("docs", help="write the OpenAPI and AsyncAPI documents")
    docs.add_argument("directory", type=Path, nargs="?", default=Path("docs/api"))
    manifests = commands.add_parser("manifests", help="write the Kubernetes base (deploy/base)")
    manifests.add_argument("directory", type=Path, nargs="?", default=Path("deploy/base"))
    clock = commands.add_parser(
        "clock",
        help="show or move the dev stack's business time",
        description="set WHEN: ISO 8601, local Ljubljana time unless it has an offset "
        "(2026-12-25T10:00). advance BY: 90m, 3h, 15d, 1d2h or -1h.",
    )
    clock.add_argument("action", choices=["show", "set", "advance", "reset"], nargs="?")
    clock.add_argument("value", nargs="?")
    clock.add_argument("--state-dir", type=Path, default=Path(".devstack"))
    status = commands.add_parser(
        "status", help="consumer lag, outbox backlog, dead letters, pending e-mails per service"
    )
    status.add_argument("--port", type=int, default=8000, help="`ticketing dev`'s gateway port")
    status.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    if args.command == "clock":
        return _clock(args)
    if args.command in ("dev", "status"):
        return asyncio.run({"dev": _dev, "status": _status}[args.command](args))
    if args.command in production.COMMANDS:
        return production.run(args)
    return _write_files(args)


def _write_files(args: argparse.Namespace) -> int:
    """`docs` and `manifests`: write the generated files into the directory, one path per
    line."""
    if args.command == "docs":
        rendered = render_all()
    else:
        from devstack.manifests import render  # needs PyYAML (dev and test extras)

        rendered = render()
    args.directory.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        path = args.directory / name
        path.write_text(text, encoding="utf-8")
        _say(str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
