"""A local SMTP server that keeps every e-mail it receives as an `.eml` file."""

from __future__ import annotations

import email
import email.policy
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class CapturedEmail:
    path: Path
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def ticket_id(self) -> str | None:
        value = self.message["X-Ticket-ID"]
        return str(value) if value else None

    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return str(body.get_content()) if body is not None else ""

    def html(self) -> str:
        body = self.message.get_body(("html",))
        return str(body.get_content()) if body is not None else ""


class _Handler:
    def __init__(self, directory: Path, on_mail: Callable[[CapturedEmail], None] | None) -> None:
        self.directory = directory
        self.on_mail = on_mail
        self.captured: list[CapturedEmail] = []
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")  # noqa: TID251 - a file name
            path = self.directory / f"{stamp}-{next(self._counter):05d}.eml"
            path.write_bytes(content)
            captured = CapturedEmail(path, message)
            self.captured.append(captured)
        if self.on_mail is not None:
            self.on_mail(captured)
        return "250 Message accepted for delivery"


class SmtpCapture:
    """Runs in a background thread on 127.0.0.1."""

    def __init__(
        self, directory: Path, *, port: int, on_mail: Callable[[CapturedEmail], None] | None = None
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = port
        self._handler = _Handler(directory, on_mail)
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def on_mail(self) -> Callable[[CapturedEmail], None] | None:
        """Called in the server's thread for each e-mail, before the server answers "250"."""
        return self._handler.on_mail

    @on_mail.setter
    def on_mail(self, callback: Callable[[CapturedEmail], None] | None) -> None:
        self._handler.on_mail = callback

    @property
    def captured(self) -> list[CapturedEmail]:
        with self._handler._lock:
            return list(self._handler.captured)
