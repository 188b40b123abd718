"""Sealing the signing keys (services/auth/sealing.py) and its configuration."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from services.auth.sealing import (
    DEVELOPMENT_KEY,
    Sealer,
    SealingKeyError,
    UnknownSealingKeyError,
    fingerprint,
    parse_keys,
)
from services.auth.settings import AuthSettings

A, B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_the_first_key_seals_and_every_key_opens() -> None:
    sealed = Sealer([A]).seal(b"secret")
    assert sealed.sealed_with == fingerprint(A)
    assert b"secret" not in sealed.token.encode()
    assert Sealer([B, A]).open(sealed) == b"secret"
    resealed = Sealer([B, A]).reseal(sealed)
    assert resealed.sealed_with == fingerprint(B)
    assert Sealer([B]).open(resealed) == b"secret"
    with pytest.raises(UnknownSealingKeyError):
        Sealer([B]).open(sealed)


def test_keys_are_read_in_order_and_checked_without_showing_them() -> None:
    assert parse_keys(f"{A}, {B}") == [A, B]
    assert parse_keys(f" {B}\n{A} ") == [B, A]
    for bad in ("", " , ", f"{A},not-a-key", f"{A},{A}", A[:-4]):
        with pytest.raises(SealingKeyError) as error:
            parse_keys(bad)
        assert "not-a-key" not in str(error.value)


def settings(**env: str) -> AuthSettings:
    return AuthSettings(database_url="postgresql://x@127.0.0.1/x", **env)  # type: ignore[arg-type]


def test_production_needs_a_secret_key() -> None:
    with pytest.raises(ValidationError, match="must name a secret key in production"):
        settings(environment="production")
    with pytest.raises(ValidationError, match="must name a secret key in production"):
        settings(environment="production", key_encryption_keys=f"{A},{DEVELOPMENT_KEY}")
    with pytest.raises(ValidationError) as error:
        settings(environment="production", key_encryption_keys=f"{A},wrong")
    assert "wrong" not in str(error.value)
    assert settings(environment="production", key_encryption_keys=f"{B},{A}").sealing_keys() == [
        B,
        A,
    ]
    assert settings(environment="development").sealing_keys() == [DEVELOPMENT_KEY]
