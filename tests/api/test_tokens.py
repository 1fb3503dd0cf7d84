"""Every bad token is 401 problem+json with `WWW-Authenticate: Bearer`, on every route of every
service (the routes as tests/api/test_access_matrix.py enumerates them), before the request's
path, query or body is looked at; and on the live stream's `?access_token=` too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kuaiche.services import SERVICES
from shared.bus.inprocess import InProcessBus
from shared.http.problems import PROBLEM_JSON
from tests.api.test_access_matrix import RULES, routes
from tests.conftest import make_settings, start_service
from tests.support.tokens import BAD_TOKENS

# Path parameters filled with something of the right shape (a route's converter may insist).
_PARAMETER = re.compile(r"\{([a-z_]+)(?::int)?\}")


def _path(template: str) -> str:
    return _PARAMETER.sub(lambda m: "2020" if ":int" in m.group(0) else "some-id", template)


@pytest.fixture(params=list(SERVICES))
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple]:
    name = request.param
    settings = make_settings(name, f"sqlite+aiosqlite:///{tmp_path / name}.sqlite3", tmp_path)
    app, lifespan = await start_service(SERVICES[name], settings, InProcessBus(), with_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
        yield name, client
    await lifespan.__aexit__(None, None, None)


def _refused(r: httpx.Response) -> bool:
    return (
        r.status_code == 401
        and r.headers["content-type"].startswith(PROBLEM_JSON)
        and r.headers.get("www-authenticate", "").startswith("Bearer")
        and r.json()["status"] == 401
    )


async def test_every_bad_token_is_401_on_every_route(service: tuple) -> None:
    name, client = service
    wrong = []
    for service_name, method, template in sorted(routes()):
        if service_name != name or RULES[(name, method, template)].public:
            continue
        for kind, bad in BAD_TOKENS.items():
            r = await client.request(
                method,
                _path(template),
                headers={"Authorization": f"Bearer {bad}"},
                json={"nonsense": True},  # a body no route accepts: the token is judged first
            )
            if not _refused(r):
                wrong.append(f"{method} {template} with {kind}: {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_a_bad_token_in_the_streams_query_is_401(tmp_path: Path, kind: str) -> None:
    from services.notifications.main import SERVICE

    settings = make_settings(
        "notifications", f"sqlite+aiosqlite:///{tmp_path / 'n'}.sqlite3", tmp_path
    )
    app, lifespan = await start_service(SERVICE, settings, InProcessBus(), with_worker=False)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
            r = await client.get("/v1/stream", params={"access_token": BAD_TOKENS[kind]})
        assert _refused(r), r.text
    finally:
        await lifespan.__aexit__(None, None, None)
