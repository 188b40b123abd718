"""Access-token checks with the verifier's memory of tokens it has verified: a remembered
token is still refused once it expires, once its key is no longer published, or once auth has
revoked it (its session ended, the user's tokens revoked), and a token altered by one byte is
checked afresh."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.auth.tokens import AccessTokens
from services.runtime.identity import ALGORITHM, Principal, TokenRevokedError, TokenVerifier
from services.runtime.revocation import RevocationList, Revocations
from tests.support import ManualClock

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
SESSION = uuid.uuid4()
ANA = Principal(
    user_id=uuid.uuid4(),
    org_id=uuid.uuid4(),
    roles=frozenset({"customer"}),
    email="ana@demo.example",
    display_name="Ana",
    language="sl",
    session_id=SESSION,
)


class _Keys:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.published: dict[str, Any] = {"k1": self.private.public_key()}

    async def key(self, kid: str) -> Any | None:
        return self.published.get(kid)

    def token(self, *, ttl: timedelta = timedelta(minutes=10)) -> str:
        claims = {**ANA.claims(), "iss": "iss", "aud": "aud", "iat": NOW, "exp": NOW + ttl}
        return jwt.encode(claims, self.private, algorithm=ALGORITHM, headers={"kid": "k1"})


def _verifier(
    keys: _Keys, clock: ManualClock, revocations: RevocationList | None = None
) -> TokenVerifier:
    return TokenVerifier(
        keys=keys,
        issuer="iss",
        audience="aud",
        clock=clock,
        leeway_s=0,
        revocations=revocations or RevocationList(),
    )


@dataclass
class _SigningKey:
    kid: str
    private_key: Any


class _KeyStore:
    """What auth's `AccessTokens` asks of its key store."""

    def __init__(self, keys: _Keys) -> None:
        self._key = _SigningKey("k1", keys.private)

    async def signing_key(self) -> _SigningKey:
        return self._key


async def test_a_remembered_token_is_refused_once_it_expires() -> None:
    keys, clock = _Keys(), ManualClock(NOW)
    verifier = _verifier(keys, clock)
    token = keys.token(ttl=timedelta(minutes=10))

    assert (await verifier.verify(token)).user_id == ANA.user_id
    assert (await verifier.verify(token)).user_id == ANA.user_id
    clock.moment = NOW + timedelta(minutes=11)
    with pytest.raises(jwt.ExpiredSignatureError):
        await verifier.verify(token)


def _withdraw_its_key(keys: _Keys, token: str) -> str:
    keys.published.clear()
    return token


def _change_one_character(keys: _Keys, token: str) -> str:
    header, payload, signature = token.split(".")
    return ".".join((header, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))


@pytest.mark.parametrize(
    "change",
    [_withdraw_its_key, _change_one_character],
    ids=["refused once its key is withdrawn", "changed by one character is checked afresh"],
)
async def test_a_remembered_token_is_checked_again_once_its_key_or_text_changes(
    change: Callable[[_Keys, str], str],
) -> None:
    keys, clock = _Keys(), ManualClock(NOW)
    verifier = _verifier(keys, clock)
    token = keys.token()
    await verifier.verify(token)

    changed = change(keys, token)
    with pytest.raises(jwt.InvalidTokenError):
        await verifier.verify(changed)


async def test_a_remembered_token_is_refused_once_its_session_has_ended() -> None:
    keys, clock, revocations = _Keys(), ManualClock(NOW), RevocationList()
    verifier = _verifier(keys, clock, revocations)
    token = keys.token()
    await verifier.verify(token)
    await verifier.verify(token)  # remembered now

    revocations.replace(Revocations(sessions=frozenset({SESSION})))
    with pytest.raises(TokenRevokedError):
        await verifier.verify(token)
    revocations.replace(Revocations())
    assert (await verifier.verify(token)).user_id == ANA.user_id


async def test_auths_tokens_from_before_a_revocation_are_refused_and_from_after_it_taken() -> None:
    keys, clock, revocations = _Keys(), ManualClock(NOW), RevocationList()
    clock.moment = NOW + timedelta(seconds=1)
    verifier = _verifier(keys, clock, revocations)
    store: Any = _KeyStore(keys)
    signer = AccessTokens(store, issuer="iss", audience="aud", ttl=timedelta(minutes=10))
    revoked_at = NOW + timedelta(microseconds=400_000)
    before = await signer.issue(ANA, now=NOW + timedelta(microseconds=399_999))
    after = await signer.issue(ANA, now=NOW + timedelta(microseconds=400_001))  # same second
    await verifier.verify(before)  # remembered before the revocation arrives

    revocations.replace(Revocations(users={ANA.user_id: revoked_at.timestamp()}))
    with pytest.raises(TokenRevokedError):
        await verifier.verify(before)
    assert (await verifier.verify(after)).user_id == ANA.user_id
