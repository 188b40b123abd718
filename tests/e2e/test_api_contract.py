"""The API keeps its contract (issue 14, point 2): schemathesis sends generated requests for
every operation of every service's OpenAPI through the gateway, as a signed-in customer and
as a consultant, and finds no server error, no status the operation does not document, no
body that contradicts its schema and no undocumented media type.

Valid and invalid input, a bounded number of examples per operation, caller and mode, from a
fixed seed (nearly the same requests every run: the API's answers steer a few draws), so a
failure here is reproducible and the suite stays within minutes. The callers are new users of
their own (a new customer organization, a new consultant), so whatever the generated requests
change (a display name, a language, tickets) touches no other test's data; the tickets they
create do join the shared waiting list.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.stack import SERVICES, Stack
from services.auth.demo import VENDOR, VENDOR_ADMIN
from tests.e2e.helpers import (
    bearer,
    create_user,
    new_customer,
    set_password,
    sign_in,
    submit_ticket,
)
from tests.support import loopback_address

pytestmark = pytest.mark.stack

EXAMPLES = 10
"""Generated requests per operation, caller and mode."""
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
"""Valid input (the operation's answers) and invalid input (its refusals)."""
WAITING = {"POST /api/tickets/{ticket_id}/messages": 3}
"""Operations that wait for an event by design before they refuse (a message naming
attachments tickets has not heard of waits `TICKETS_ATTACHMENT_WAIT_S`, 5 s, for them):
fewer examples, so the suite stays within minutes; every check still runs on them."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Tally:
    """What a run did: operations, requests, and failures by check and operation."""

    operations: set[str] = field(default_factory=set)
    cases: Counter[str] = field(default_factory=Counter)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)

    def summary(self, service: str) -> str:
        by_kind = Counter(kind for kind, _ in self.failures.elements())
        lines = [
            f"{service}: {len(self.operations)} operations, {sum(self.cases.values())} "
            f"requests, {sum(self.failures.values())} failures {dict(by_kind)}; "
            f"statuses {dict(sorted(self.statuses.items()))}; slowest "
            + ", ".join(f"{op} {s:.1f} s" for op, s in self.seconds.most_common(3))
        ]
        lines += [
            f"  {kind} {operation} x{count}: {self.examples[(kind, operation)]}"
            for (kind, operation), count in sorted(self.failures.items())
        ]
        return "\n".join(lines)


def exercise(
    schema: Any, base_url: str, callers: dict[str, dict[str, str]], ticket_id: str
) -> Tally:
    """Send `EXAMPLES` generated requests per operation, caller and mode; tally every failure
    (none stops the run, so one report shows them all). `{ticket_id}` is a real ticket of the
    customer's, so the ticket steps and uploads answer as they do for a portal user (200, 409)
    rather than only 404; every other path parameter is generated."""
    tally = Tally()
    session = requests.Session()
    # The generated sign-ins fail, and failures are throttled per client address: connecting
    # from a loopback address of its own keeps them off 127.0.0.1, which every other test
    # signs in from.
    session.mount("http://", _FromAddress(loopback_address()))
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if "health" in (operation.tags or ()):
            continue
        tally.operations.add(operation.label)
        started = time.monotonic()
        for headers in callers.values():
            for mode in MODES:
                try:
                    _examples(operation, mode, base_url, session, headers, tally, ticket_id)()
                except hypothesis.errors.Unsatisfiable:
                    # An operation without any input cannot be sent invalid input.
                    assert mode is GenerationMode.NEGATIVE, operation.label
        tally.seconds[operation.label] = time.monotonic() - started
    return tally


class _FromAddress(requests.adapters.HTTPAdapter):
    """Connections from one local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs, source_address=(self.address, 0))


def _examples(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    tally: Tally,
    ticket_id: str,
) -> Any:
    """The hypothesis test of one operation as one caller."""
    label = operation.label
    fixed = {"ticket_id": ticket_id} if "{ticket_id}" in operation.path else None

    @hypothesis.settings(
        max_examples=WAITING.get(label, EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    def run(case: Any) -> None:
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=20)
        except requests.Timeout:
            tally.failures[("Timeout", label)] += 1
            tally.examples.setdefault(
                ("Timeout", label),
                f"no answer in 20 s: {case.method} {case.formatted_path} {case.headers}",
            )
            return
        tally.cases[label] += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                kind = type(failure).__name__
                tally.failures[(kind, label)] += 1
                tally.examples.setdefault(
                    (kind, label),
                    f"{response.status_code} {failure.title}: {case.method} {case.formatted_path} "
                    f"{response.request.headers.get('content-type')} {response.text[:300]}",
                )

    return run


@pytest.fixture(scope="module")
async def callers(gateway: httpx.AsyncClient, stack: Stack, signed_in: Any) -> dict[str, Any]:
    """A customer of a new organization and a new consultant, signed in, and a ticket of the
    customer's."""
    admin = await signed_in.headers(VENDOR_ADMIN.email)
    _, customer = await new_customer(gateway, stack, admin)
    consultant = await create_user(gateway, admin, org_id=str(VENDOR.id), roles=["consultant"])
    password = f"geslo {uuid.uuid4().hex[:8]}"
    await set_password(gateway, stack, consultant["email"], password)
    ticket = await submit_ticket(gateway, customer)
    return {
        "customer": customer,
        "consultant": bearer(await sign_in(gateway, consultant["email"], password)),
        "ticket_id": ticket["id"],
    }


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_keeps_its_documented_contract(
    service: str, stack: Stack, callers: dict[str, Any]
) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.urls[service]}/openapi.json")
    headers = {role: callers[role] for role in ("customer", "consultant")}

    tally = await asyncio.to_thread(
        exercise, schema, stack.gateway_url, headers, callers["ticket_id"]
    )

    print(tally.summary(service))
    assert tally.operations and all(tally.cases[op] > 0 for op in tally.operations)
    assert not tally.failures, tally.summary(service)
