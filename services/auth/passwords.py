"""Password hashing (Argon2id) and the password rules (ASVS 5.0 6.2: length only, no composition).

Hashing is slow on purpose; it runs in a worker thread, at most `max_concurrent` at a time, so the
event loop keeps serving and memory stays bounded (each hash takes `memory_kib`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 256  # at least 64 must be allowed; the cap only bounds the hashing work


class PasswordRuleError(ValueError):
    """The new password breaks a rule; the message says which, for the user."""


def check_new_password(password: str, repeated: str) -> None:
    """Raise `PasswordRuleError` unless the new password is acceptable and typed the same twice."""
    if password != repeated:
        raise PasswordRuleError("The two passwords differ; type the same new password twice.")
    length = len(password)
    if length < MIN_LENGTH:
        raise PasswordRuleError(f"The password must have at least {MIN_LENGTH} characters.")
    if length > MAX_LENGTH:
        raise PasswordRuleError(f"The password may have at most {MAX_LENGTH} characters.")


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


class Passwords:
    """Hash and verify passwords with Argon2id; verify a dummy hash for unknown users, so that
    known and unknown e-mails take the same time."""

    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, max_concurrent: int
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._limit = asyncio.Semaphore(max_concurrent)
        self._dummy_hash = self._hasher.hash("no such user: the same work as a real check")

    async def hash(self, password: str) -> str:
        async with self._limit:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> Verification:
        """Check `password` against `stored_hash`; with no hash, do the same work and fail."""
        async with self._limit:
            return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> Verification:
        try:
            self._hasher.verify(stored_hash or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(ok=False)
        if stored_hash is None:
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._hasher.check_needs_rehash(stored_hash))
