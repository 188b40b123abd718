"""The signing keys at rest: each private key is kept in auth's database sealed (Fernet:
AES-128-CBC with HMAC-SHA256) with a key-encryption key from configuration, so read access to
the database alone forges no token (docs/decisions.md, "Signing keys at rest").

Several key-encryption keys may be configured at once, for rotation: the first seals, every one
of them opens. Each sealed key records the fingerprint of the key that sealed it, so the service
can re-seal what an older key sealed, and an operator can see when an old key is no longer needed
(services/auth/README.md, "Rotating the key-encryption key").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DEVELOPMENT_KEY = "ZGV2ZWxvcG1lbnQtb25seS1ub3QtYS1zZWNyZXQtISE="
"""The key `ticketing dev` and the tests seal with when none is configured: public, so a
production service refuses it (services/auth/settings.py)."""


class SealingKeyError(ValueError):
    """A configured key-encryption key is not a Fernet key (32 bytes, URL-safe base64)."""


class UnknownSealingKeyError(RuntimeError):
    """A signing key was sealed with a key-encryption key that is no longer configured."""


def fingerprint(key: str) -> str:
    """A short public name of a key-encryption key: the start of its SHA-256, never the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def parse_keys(value: str) -> list[str]:
    """The configured keys, in order: comma- or space-separated Fernet keys, the first seals.
    An error names the key's position, never its value."""
    keys = [part for chunk in value.split(",") for part in chunk.split()]
    if not keys:
        raise SealingKeyError("no key-encryption key is configured")
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise SealingKeyError(
                f"key-encryption key {position} is not a Fernet key (32 bytes in URL-safe "
                "base64); make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
    if len(set(keys)) != len(keys):
        raise SealingKeyError("a key-encryption key is configured twice")
    return keys


@dataclass(frozen=True)
class Sealed:
    token: str
    sealed_with: str
    """The fingerprint of the key that sealed it."""


class Sealer:
    """Seals with the first configured key, opens with any of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SealingKeyError("no key-encryption key is configured")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self.current = fingerprint(keys[0])
        self.known = frozenset(fingerprint(k) for k in keys)

    def seal(self, secret: bytes) -> Sealed:
        return Sealed(self._fernet.encrypt(secret).decode(), self.current)

    def open(self, sealed: Sealed) -> bytes:
        if sealed.sealed_with not in self.known:
            raise UnknownSealingKeyError(
                f"a signing key is sealed with key-encryption key {sealed.sealed_with}, which is "
                "not configured: add it back (after the current one) until the service has "
                "re-sealed every signing key"
            )
        try:
            return self._fernet.decrypt(sealed.token.encode())
        except InvalidToken as error:
            raise UnknownSealingKeyError(
                f"a signing key sealed with key-encryption key {sealed.sealed_with} does not "
                "open: the sealed text was altered"
            ) from error

    def reseal(self, sealed: Sealed) -> Sealed:
        """The same secret sealed with the current key."""
        return self.seal(self.open(sealed))
