"""Fixtures of the end-to-end tests beyond the session's stack (tests/conftest.py)."""

from __future__ import annotations

import httpx
import pytest

from devstack.stack import Stack
from tests.e2e.helpers import NewCustomer, SignedInUser, new_customer


@pytest.fixture
def newcomer(gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str]) -> NewCustomer:
    """Makes a customer of a new organization, signed in: (the user, authorization headers)."""

    async def make(*, language: str = "sl") -> SignedInUser:
        return await new_customer(gateway, stack, vendor_admin, language=language)

    return make
