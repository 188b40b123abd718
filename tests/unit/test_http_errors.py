"""The runtime's error answers: every error is a problem (RFC 9457) of its kind, invalid input
is listed without its values, a database that broke mid-request is 503 with Retry-After, and
the OpenAPI lists every problem an operation can answer with."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from services.runtime.http import install_error_handlers
from services.runtime.problems import (
    ProblemError,
    answer_domain_errors,
    document_problems,
    implied_statuses,
    kind_of,
    refusals,
)


async def test_a_connection_broken_mid_statement_answers_503_with_retry_after() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/tickets")
    async def create() -> None:
        # What asyncpg raises when PostgreSQL stops while the insert is running.
        raise asyncpg.InternalClientError(
            "cannot switch to state 12; another operation is in progress"
        )

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        answer = await client.post("/tickets")

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    assert "unavailable" in answer.json()["detail"]
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/unavailable")


async def _answer(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.request(method, path, **kwargs)


class Body(BaseModel):
    password: str = Field(min_length=8)
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things/{thing_id}")
    async def create(thing_id: uuid.UUID, body: Body) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/steps")
    async def step() -> None:
        raise HTTPException(409, "The ticket is closed.")

    @app.get("/refusals")
    async def refused() -> None:
        raise ProblemError(422, "Refused.", errors=refusals(["one", "two"]))

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("a bug")

    return app


async def test_every_error_is_a_problem_of_its_kind() -> None:
    app = _app()

    step = await _answer(app, "GET", "/steps")
    missing = await _answer(app, "GET", "/nowhere")
    wrong_method = await _answer(app, "DELETE", "/steps")
    refused = await _answer(app, "GET", "/refusals")

    assert step.status_code == 409
    assert step.headers["content-type"] == "application/problem+json"
    assert step.json() == {
        "type": "tag:portal.example.com,2026:problems/conflict",
        "title": "Conflicts with the current state",
        "status": 409,
        "detail": "The ticket is closed.",
    }
    assert missing.json()["type"].endswith("/not-found") and missing.json()["status"] == 404
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"].endswith("/method-not-allowed")
    assert refused.json()["errors"] == [
        {"loc": [], "msg": "one", "type": "refused"},
        {"loc": [], "msg": "two", "type": "refused"},
    ]


async def test_invalid_input_lists_each_field_and_never_echoes_a_value() -> None:
    secret = "kratko"  # too short: the value must not come back
    answer = await _answer(
        _app(), "POST", f"/things/{uuid.uuid4()}", json={"password": secret, "count": "many"}
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"].endswith("/invalid-input")
    assert [e["loc"] for e in problem["errors"]] == [["body", "password"], ["body", "count"]]
    assert all(set(e) == {"loc", "msg", "type"} for e in problem["errors"])
    assert secret not in answer.text and "many" not in answer.text
    assert "body.password" in problem["detail"]


async def test_an_unexpected_error_is_a_problem_that_closes_the_connection() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        answer = await client.get("/crash")

    assert answer.status_code == 500
    assert answer.headers["connection"] == "close"
    assert answer.json()["type"].endswith("/internal-error")
    assert "a bug" not in answer.text


def test_the_openapi_lists_every_problem_an_operation_can_answer_with() -> None:
    app = _app()
    document_problems(app, skip_tags=("health",))

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.openapi_schema = None
    document = app.openapi()
    create = document["paths"]["/things/{thing_id}"]["post"]["responses"]
    step = document["paths"]["/steps"]["get"]["responses"]

    assert set(create) == {"200", "400", "404", "413", "422", "503"}
    assert set(step) == {"200", "503"}
    assert create["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]
    assert set(document["paths"]["/healthz"]["get"]["responses"]) == {"200"}


def test_an_authenticated_operation_lists_401_and_403() -> None:
    operation = {"security": [{"HTTPBearer": []}], "parameters": []}
    public_with_body = {"requestBody": {}}

    assert implied_statuses(operation) == {401, 403, 503}
    assert implied_statuses(public_with_body) == {400, 413, 422, 503}


class RuleError(ValueError):
    """A domain's refusal."""


class StepError(RuleError):
    """A step the state does not allow."""


class RefusedError(RuleError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


async def test_a_services_domain_errors_are_answered_in_one_place() -> None:
    app = FastAPI()
    install_error_handlers(app)
    answer_domain_errors(
        app, {LookupError: (404, "No such thing."), StepError: 409, RuleError: 422}
    )
    raised: dict[str, Exception] = {
        "missing": LookupError("b6f1"),
        "step": StepError("The ticket is closed."),
        "rule": RuleError("Too long."),
        "refused": RefusedError(["line 2: no e-mail", "line 3: no name"]),
    }

    @app.get("/{what}")
    async def fail(what: str) -> None:
        raise raised[what]

    missing, step, rule, refused = [
        await _answer(app, "GET", f"/{what}") for what in ("missing", "step", "rule", "refused")
    ]

    assert (missing.status_code, missing.json()["detail"]) == (404, "No such thing.")
    assert (step.status_code, step.json()["type"]) == (409, kind_of(409).type)
    assert (rule.status_code, rule.json()["detail"]) == (422, "Too long.")
    assert refused.status_code == 422
    assert [e["msg"] for e in refused.json()["errors"]] == ["line 2: no e-mail", "line 3: no name"]
    assert all(a.headers["content-type"] == "application/problem+json" for a in (missing, refused))
