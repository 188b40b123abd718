"""Which body limit a route gets (services/runtime/bodies.py)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from services.runtime.bodies import IMPORT_BODY, STREAMED_BODY, BodyLimits


def _app(extra: dict[str, str] | None) -> FastAPI:
    app = FastAPI()

    @app.post("/x", openapi_extra=extra)
    async def route() -> None:
        return None

    return app


@pytest.mark.parametrize(
    ("extra", "limit"),
    [(None, 1_000), (IMPORT_BODY, 25_000), (STREAMED_BODY, None), ({"x-other": "1"}, 1_000)],
)
def test_a_route_gets_the_default_limit_unless_it_declares_an_import_or_a_stream(
    extra: dict[str, str] | None, limit: int | None
) -> None:
    route = next(r for r in _app(extra).routes if getattr(r, "path", "") == "/x")

    assert BodyLimits(1_000, 25_000).of(route) == limit


def test_a_service_with_a_route_declaring_an_unknown_limit_does_not_start() -> None:
    with pytest.raises(ValueError, match="'huge' is not one of"):
        BodyLimits.check(_app({"x-body-limit": "huge"}).routes)
