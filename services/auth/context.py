"""The auth service's parts, built at start-up once the database pool exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

from services.auth.accounts import Accounts
from services.auth.admin import Administration
from services.auth.keys import KeyStore
from services.auth.passwords import Passwords
from services.auth.sealing import Sealer
from services.auth.settings import AuthSettings
from services.auth.tokens import AccessTokens
from services.runtime.clock import Clock


@dataclass
class AuthContext:
    settings: AuthSettings
    clock: Clock
    key_store: KeyStore = field(init=False)
    _accounts: Accounts | None = None
    _administration: Administration | None = None
    _passwords: Passwords | None = None

    def __post_init__(self) -> None:
        # A retired key stays published until every token it signed has expired.
        self.key_store = KeyStore(
            retire_after=timedelta(seconds=self.settings.access_token_ttl_s + 120),
            clock=self.clock,
            sealer=Sealer(self.settings.sealing_keys()),
        )

    async def start(self, pool: asyncpg.Pool) -> None:
        """Start-up hook: keys first, then the use cases that sign with them."""
        await self.key_store.start(pool)
        s = self.settings
        passwords = Passwords(
            time_cost=s.argon2_time_cost,
            memory_kib=s.argon2_memory_kib,
            parallelism=s.argon2_parallelism,
            max_concurrent=s.max_concurrent_hashes,
        )
        access = AccessTokens(
            self.key_store,
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            ttl=timedelta(seconds=s.access_token_ttl_s),
        )
        self._accounts = Accounts(
            pool, s, passwords=passwords, access_tokens=access, clock=self.clock
        )
        self._administration = Administration(pool, self._accounts, clock=self.clock)
        self._passwords = passwords

    @property
    def passwords(self) -> Passwords:
        assert self._passwords is not None, "the auth service has not started"
        return self._passwords

    @property
    def accounts(self) -> Accounts:
        assert self._accounts is not None, "the auth service has not started"
        return self._accounts

    @property
    def administration(self) -> Administration:
        assert self._administration is not None, "the auth service has not started"
        return self._administration
