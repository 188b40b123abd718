"""One error format for every service and the gateway: RFC 9457 problem details
(`application/problem+json`), and the OpenAPI that lists every status an operation answers
with (docs/problems.md).

A problem has a `type` (one URI per kind of problem), a `title` (the kind, in words), the HTTP
`status`, a `detail` (what went wrong this time, and what to do) and, for input that failed
validation, `errors`: where (`loc`), what (`msg`) and the rule's name (`type`). A problem never
repeats a value the request sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "tag:portal.example.com,2026:problems/"
"""Problem types are tag URIs (RFC 4151): stable names that do not pretend to be web pages;
docs/problems.md says what each means."""


@dataclass(frozen=True)
class Kind:
    slug: str
    status: int
    title: str

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.slug


KINDS: Final[tuple[Kind, ...]] = (
    Kind("bad-request", 400, "Bad request"),
    Kind("unauthorized", 401, "Sign-in required"),
    Kind("forbidden", 403, "Not allowed"),
    Kind("not-found", 404, "Not found"),
    Kind("method-not-allowed", 405, "Method not allowed"),
    Kind("conflict", 409, "Conflicts with the current state"),
    Kind("too-large", 413, "Request body too large"),
    Kind("unsupported-media-type", 415, "Unsupported media type"),
    Kind("range-not-satisfiable", 416, "Range not satisfiable"),
    Kind("invalid-input", 422, "Invalid input"),
    Kind("unstorable-text", 422, "Text that cannot be stored"),
    Kind("too-many-requests", 429, "Too many requests"),
    Kind("internal-error", 500, "Internal server error"),
    Kind("unavailable", 503, "Temporarily unavailable"),
)
BY_SLUG: Final = {kind.slug: kind for kind in KINDS}
BY_STATUS: Final = {kind.status: kind for kind in reversed(KINDS)}  # the first of a status wins


def kind_of(status: int, slug: str | None = None) -> Kind:
    """The kind named, else the usual one of the status (a status with none gets a plain one)."""
    if slug is not None:
        return BY_SLUG[slug]
    return BY_STATUS.get(status) or Kind(f"http-{status}", status, f"HTTP {status}")


class FieldProblem(BaseModel):
    """One thing wrong with the input; never the value that was sent."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the field's path; empty "
        "when the problem is about the request as a whole."
    )
    msg: str = Field(description="What is wrong, in words.")
    type: str = Field(description="The rule that failed, e.g. `missing`, `string_too_long`.")


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error answer."""

    type: str = Field(description="The kind of problem, a URI (docs/problems.md).")
    title: str = Field(description="The kind of problem, in words; the same for every answer.")
    status: int = Field(description="The HTTP status of the answer.")
    detail: str = Field(description="What went wrong this time, and what to do about it.")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Every problem with the input, when there is more than one."
    )


class ProblemError(HTTPException):
    """An HTTP error answered as a problem of the kind named (else the status's usual one),
    with `errors` listing what was wrong, one by one."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: Sequence[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers=dict(headers) if headers else None)
        self.kind = kind_of(status, kind)
        self.errors = list(errors)


def refusals(reasons: Iterable[str], *, rule: str = "refused") -> list[FieldProblem]:
    """A domain's list of reasons as `errors` (about the request as a whole)."""
    return [FieldProblem(loc=[], msg=reason, type=rule) for reason in reasons]


def problem_body(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: Sequence[FieldProblem] = (),
) -> dict[str, Any]:
    """The JSON body of a problem answer."""
    chosen = kind_of(status, kind)
    problem = Problem(
        type=chosen.type,
        title=chosen.title,
        status=status,
        detail=detail,
        errors=list(errors) or None,
    )
    return problem.model_dump(mode="json", exclude_none=True)


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: Sequence[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An `application/problem+json` answer."""
    return JSONResponse(
        problem_body(status, detail, kind=kind, errors=errors),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type=PROBLEM_MEDIA_TYPE,
    )


DomainErrors = Mapping[type[Exception], "int | tuple[int, str]"]
"""A service's domain errors and the status each is answered with (and a fixed `detail`, else
the error's own text); an error with `problems` (a list of texts) lists them in `errors`."""


def answer_domain_errors(app: FastAPI, errors: DomainErrors) -> None:
    """Answer each of a service's domain errors as its problem, wherever a route lets it out:
    the one place a service maps its refusals to answers. A subclass registered apart from its
    base (a 409 `TransitionError` under a 422 `TicketError`) gets its own status."""
    for error_type, answer in errors.items():
        status, fixed = answer if isinstance(answer, tuple) else (answer, None)
        app.add_exception_handler(error_type, _domain_answer(status, fixed))


def _domain_answer(status: int, fixed: str | None) -> Any:
    async def answer(_: object, error: Exception) -> JSONResponse:
        reasons = getattr(error, "problems", None)
        if isinstance(reasons, list) and reasons:
            detail = f"Refused: {len(reasons)} problem(s); `errors` lists each."
            return problem_response(status, fixed or detail, errors=refusals(map(str, reasons)))
        return problem_response(status, fixed or str(error))

    return answer


# --- What the OpenAPI document says -----------------------------------------------------------

PROBLEM_SCHEMA_REF: Final = "#/components/schemas/Problem"
DESCRIPTIONS: Final[dict[int, str]] = {
    400: "The request cannot be read as sent (a body that is not JSON), or the gateway refused "
    "its path (a backslash or dot segment in a path parameter).",
    401: "No valid access token: sign in (again).",
    403: "The caller's roles or organization do not allow this.",
    404: "No such resource, or not one the caller may see.",
    409: "The resource's current state does not allow this step.",
    413: "The request body is larger than this operation takes.",
    415: "The body's media type is not one this operation takes.",
    422: "The input is not valid; `errors` says where and why.",
    429: "Too many attempts; `Retry-After` says when to try again.",
    503: "A dependency (the database, the sign-in check) is unavailable; `Retry-After` says "
    "when to try again.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route for the problems only it can answer with (the kit adds those of
    every authenticated, parameterized or body-taking route by itself). A route that says more
    about one writes `{409: {"description": "..."}}` itself; either way it is documented as a
    `Problem`."""
    return {status: {"description": DESCRIPTIONS.get(status, "")} for status in statuses}


def document_problems(app: FastAPI, *, skip_tags: Iterable[str]) -> None:
    """Every operation in `app`'s OpenAPI document lists every problem it can answer with
    (`with_problems`); operations tagged with one of `skip_tags` (health) keep their own."""
    generate = app.openapi
    skipped = frozenset(skip_tags)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(generate(), skip_tags=skipped)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_problems(document: dict[str, Any], *, skip_tags: frozenset[str]) -> dict[str, Any]:
    """The OpenAPI document with each operation's problems, each a `Problem` in
    `application/problem+json`: those its shape implies (`implied_statuses`) and those its
    route declares with `problems(...)`. FastAPI's own 422 shape is never answered
    (install_error_handlers) and leaves the document."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or skip_tags & set(operation.get("tags", ())):
                continue
            responses = operation.setdefault("responses", {})
            for status in implied_statuses(operation):
                responses.setdefault(str(status), {})
            for key in list(responses):
                if key.isdigit() and int(key) >= 400:
                    responses[key] = _as_problem(int(key), responses[key])
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def implied_statuses(operation: Mapping[str, Any]) -> set[int]:
    """The problems an operation can answer with by its shape: 503 always (the database, the
    sign-in check), 401 and 403 when it takes a token, 400 (refused by the gateway) and 404
    with path parameters, 422 with any input, 400 (unreadable) and 413 (too large,
    services/runtime/bodies.py) with a body."""
    statuses = {503}
    parameters = operation.get("parameters", [])
    if operation.get("security"):
        statuses |= {401, 403}
    if any(p.get("in") == "path" for p in parameters):
        # 400: the gateway refuses a path that could leave /api/<service> (a path parameter
        # holding a backslash or a dot segment) before any service sees it.
        statuses |= {400, 404}
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(400)  # a body that is not JSON (FastAPI: "error parsing the body")
    if "requestBody" in operation or "x-body-limit" in operation:
        statuses.add(413)
    return statuses


def _as_problem(status: int, response: Mapping[str, Any]) -> dict[str, Any]:
    described = dict(response)
    described["description"] = (
        described.get("description")
        if described.get("description") not in (None, "", "Validation Error")
        else DESCRIPTIONS.get(status, kind_of(status).title)
    )
    described["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}
    return described
