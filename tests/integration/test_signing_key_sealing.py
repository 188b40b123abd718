"""Signing keys at rest (services/auth/sealing.py): sealed with the configured key-encryption
key, keys from before sealing sealed at start, rotation of the key-encryption key."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import asyncpg
import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization

from services.auth.keys import KeyStore, generate_key
from services.auth.sealing import Sealer, UnknownSealingKeyError, fingerprint
from services.runtime.clock import SystemClock
from services.runtime.db import migrate

AUTH_MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "auth" / "migrations"
OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def store(*keys: str) -> KeyStore:
    return KeyStore(retire_after=timedelta(minutes=12), clock=SystemClock(), sealer=Sealer(keys))


async def rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM signing_keys ORDER BY created_at")


async def sign_and_verify(keys: KeyStore, *, kid: str | None = None) -> str:
    """Sign with the store's signing key; verify with its published public key."""
    key = await keys.signing_key()
    token = jwt.encode({"sub": "x"}, key.private_key, algorithm="ES256", headers={"kid": key.kid})
    public = await keys.key(kid or key.kid)
    assert public is not None
    assert jwt.decode(token, public, algorithms=["ES256"])["sub"] == "x"
    return key.kid


async def test_a_key_stored_in_the_clear_is_sealed_at_start_and_still_signs(
    scratch_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    before = tmp_path / "before-sealing"
    before.mkdir()
    for sql in sorted(AUTH_MIGRATIONS.glob("00[1-3]_*.sql")):
        shutil.copy(sql, before)
    await migrate(scratch_pool, {"auth": before})
    legacy = generate_key(SystemClock().now())
    pem = legacy.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    await scratch_pool.execute(
        "INSERT INTO signing_keys (kid, private_pem, public_jwk) VALUES ($1, $2, $3::jsonb)",
        legacy.kid,
        pem,
        '{"kty": "EC"}',
    )
    await migrate(scratch_pool, {"auth": AUTH_MIGRATIONS})

    keys = store(OLD_KEY)
    await keys.start(scratch_pool)

    [row] = await rows(scratch_pool)
    assert row["private_pem"] is None
    assert row["sealed_with"] == fingerprint(OLD_KEY)
    stored = " ".join(str(v) for v in row.values())
    assert "PRIVATE KEY" not in stored
    assert pem.splitlines()[1] not in stored  # no line of the key's base64 either
    assert await sign_and_verify(keys) == legacy.kid


async def test_rotating_the_key_encryption_key(scratch_pool: asyncpg.Pool) -> None:
    await migrate(scratch_pool, {"auth": AUTH_MIGRATIONS})
    first = store(OLD_KEY)
    await first.start(scratch_pool)
    kid = await sign_and_verify(first)
    [sealed_before] = await rows(scratch_pool)
    assert sealed_before["sealed_with"] == fingerprint(OLD_KEY)

    # Step 1: the new key is added after the current one; every replica can open both.
    both_old_first = store(OLD_KEY, NEW_KEY)
    await both_old_first.start(scratch_pool)
    assert (await rows(scratch_pool))[0]["sealed_private_key"] == sealed_before[
        "sealed_private_key"
    ]

    # Step 2: the new key first; the first replica to start re-seals everything with it.
    both_new_first = store(NEW_KEY, OLD_KEY)
    await both_new_first.start(scratch_pool)
    [resealed] = await rows(scratch_pool)
    assert resealed["sealed_with"] == fingerprint(NEW_KEY)
    assert resealed["sealed_private_key"] != sealed_before["sealed_private_key"]
    await both_old_first._load()  # a replica still on step 1's configuration reads it too
    assert await sign_and_verify(both_old_first) == kid

    # A signing-key rotation under the new configuration is sealed with the new key.
    new_kid = await both_new_first.rotate()
    assert {r["sealed_with"] for r in await rows(scratch_pool)} == {fingerprint(NEW_KEY)}

    # Step 3: the old key removed; tokens of both signing keys still verify.
    only_new = store(NEW_KEY)
    await only_new.start(scratch_pool)
    assert await sign_and_verify(only_new) == new_kid
    assert await only_new.key(kid) is not None

    # Without the key that sealed them, the service refuses to start and says what to do.
    with pytest.raises(UnknownSealingKeyError, match="not configured: add it back"):
        await store(OLD_KEY).start(scratch_pool)


async def test_an_altered_sealed_key_is_refused(scratch_pool: asyncpg.Pool) -> None:
    await migrate(scratch_pool, {"auth": AUTH_MIGRATIONS})
    await store(OLD_KEY).start(scratch_pool)
    [row] = await rows(scratch_pool)
    token = row["sealed_private_key"]
    altered = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    await scratch_pool.execute("UPDATE signing_keys SET sealed_private_key = $1", altered)
    with pytest.raises(UnknownSealingKeyError, match="altered"):
        await store(OLD_KEY).start(scratch_pool)
