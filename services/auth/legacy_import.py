"""Reading the legacy portal's user list (CSV: organization, email, name, language). Pure.

The whole file is checked before anything is stored: one bad line rejects the file, with every
problem listed by line number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from contracts.common import EMAIL_PATTERN
from services.auth.domain import Language, normalize_email

COLUMNS = ("organization", "email", "name", "language")
MAX_ROWS = 10_000
_EMAIL = re.compile(EMAIL_PATTERN)


@dataclass(frozen=True)
class LegacyUser:
    line: int
    organization: str
    email: str
    name: str
    language: Language


class LegacyFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_legacy_users(text: str) -> list[LegacyUser]:
    """The users of a legacy CSV file; raise `LegacyFileError` listing every problem."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        return _users(reader)
    except csv.Error as error:  # e.g. a field past the csv module's limit: not a user file
        raise LegacyFileError([f"line {reader.line_num}: not readable as CSV ({error})"]) from None


def _users(reader: csv.DictReader[str]) -> list[LegacyUser]:
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        raise LegacyFileError([f"the header lacks the columns: {', '.join(missing)}"])
    reader.fieldnames = header
    users: list[LegacyUser] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if len(users) + len(problems) >= MAX_ROWS:
            problems.append(f"more than {MAX_ROWS} rows; split the file")
            break
        organization = (row.get("organization") or "").strip()
        email = normalize_email(row.get("email") or "")
        name = " ".join((row.get("name") or "").split())
        language = (row.get("language") or "").strip().lower() or "sl"
        errors = []
        if not 1 <= len(organization) <= 200:
            errors.append("organization must have 1 to 200 characters")
        if len(email) > 254 or not _EMAIL.match(email):
            errors.append(f"{email or 'an empty value'} is not an e-mail address")
        if not 1 <= len(name) <= 200:
            errors.append("name must have 1 to 200 characters")
        if language not in ("sl", "en"):
            errors.append(f"language must be sl or en, not {language!r}")
        if email in seen:
            errors.append(f"{email} is also on line {seen[email]}")
        seen.setdefault(email, line)
        if errors:
            problems.append(f"line {line}: " + ", ".join(errors))
            continue
        users.append(LegacyUser(line, organization, email, name, language))  # type: ignore[arg-type]
    if problems:
        raise LegacyFileError(problems)
    if not users:
        raise LegacyFileError(["the file has no users"])
    return users
