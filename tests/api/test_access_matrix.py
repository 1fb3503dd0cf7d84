"""The access matrix: every route of every service, for every caller, answers as docs/http.md
and each service's `access.py` say: no token 401, a role that may not 403, another county's or
another department's resource 404 (or 403 where the route is a write), and the rest 2xx.

The expected answers are the table `RULES` below, one row per route (method and path, as the
routers declare them): a new route without a row fails `test_every_route_has_a_rule`. The stack
is `kuaiche up --demo` in-process (SQLite, one in-process bus), so lists and scorecards have
data in every county; each row's call targets a resource of 滨城区 (BINCHENG) as "own county"
and of the land bureau as "own department", created for the call when the call changes it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from kuaiche.cli import load_demos
from kuaiche.services import SERVICES
from shared.auth import Role
from shared.bus.inprocess import InProcessBus
from shared.http.problems import PROBLEM_JSON
from shared.migrations import upgrade
from tests.conftest import COMMANDER, VIEWER, make_settings, start_service, token, wait_until

BINCHENG = "371602"  # own county
ZOUPING = "371681"  # another county
LAND_BUREAU = "市自然资源和规划局"  # own department: the unit the target problem is assigned to
WATER_BUREAU = "市水利局"  # another department

CALLERS: dict[str, dict[str, str]] = {
    "anonymous": {},
    "commander": COMMANDER,
    "viewer": VIEWER,
    "own county": token(Role.COUNTY, county=BINCHENG),
    "other county": token(Role.COUNTY, county=ZOUPING),
    "own department": token(Role.DEPARTMENT, department=LAND_BUREAU),
    "other department": token(Role.DEPARTMENT, department=WATER_BUREAU),
}
# The columns of a rule, after "anonymous" (always 401 on /v1 routes).
COLUMNS = list(CALLERS)[1:]


# ---------------------------------------------------------------- the stack
@dataclass
class Stack:
    clients: dict[str, httpx.AsyncClient]
    apps: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, service: str) -> httpx.AsyncClient:
        return self.clients[service]

    async def ok(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """A request of the command office that must succeed; its JSON body."""
        r = await self.clients[service].request(method, path, headers=COMMANDER, **kwargs)
        assert r.status_code in (200, 201), f"{method} {path}: {r.text}"
        return r.json()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("matrix")
    bus = InProcessBus()
    settings = {
        name: make_settings(name, f"sqlite+aiosqlite:///{tmp / name}.sqlite3", tmp)
        for name in SERVICES
    }
    for name, definition in SERVICES.items():
        await upgrade(definition, settings[name].database_url)
    await load_demos(list(SERVICES.values()), settings, bus)
    lifespans = []
    clients: dict[str, httpx.AsyncClient] = {}
    apps: dict[str, Any] = {}
    try:
        for name, definition in SERVICES.items():
            app, lifespan = await start_service(definition, settings[name], bus)
            lifespans.append(lifespan)
            apps[name] = app
            clients[name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{name}"
            )
        stack = Stack(clients, apps)
        await _seed(stack)
        yield stack
    finally:
        for client in clients.values():
            await client.aclose()
        for lifespan in reversed(lifespans):
            await lifespan.__aexit__(None, None, None)


async def _projected(stack: Stack, service: str, project_id: str) -> None:
    """Wait until `service`'s projection of the registry's projects has `project_id`."""
    from services.factors.models import ProjectView as FactorsView
    from services.issues.models import ProjectView as IssuesView

    view = {"factors": FactorsView, "issues": IssuesView}[service]
    sessions = stack.apps[service].state.runtime.session_factory

    async def known() -> bool:
        async with sessions() as session:
            return await session.get(view, project_id) is not None

    await wait_until(known, what=f"{service} to know project {project_id}")


def _project_body(county: str = BINCHENG) -> dict[str, Any]:
    return {
        "name": f"矩阵项目-{uuid.uuid4().hex[:10]}",
        "county": county,
        "track": "implementation",
        "total_investment": "12000",
        "level": "city_key",
        "planned_start": "2020-03-01",
        "planned_completion": "2021-12-31",
    }


async def _seed(stack: Stack) -> None:
    """Own-county resources every row reads: a project of 滨城区 with a milestone, a report and
    a list change, known to factors and issues; a county pool, an allocation, a credit demand
    of that project; a problem assigned to the land bureau; a recipient and a subscription of
    滨城区 with a delivery; a notification in 滨城区's inbox."""
    ids = stack.ids
    project = await stack.ok("registry", "POST", "/v1/projects", json=_project_body())
    pid = ids["project_id"] = project["id"]
    ids["milestone_id"] = (
        await stack.ok(
            "registry",
            "POST",
            f"/v1/projects/{pid}/milestones",
            json={"name": "土地摘牌", "planned_date": "2020-04-30"},
        )
    )["id"]
    await stack.ok(
        "registry",
        "POST",
        f"/v1/projects/{pid}/reports",
        json={"period": "2020-04", "ytd_investment": "300", "month_investment": "100"},
    )
    ids["change_id"] = (
        await stack.ok(
            "registry",
            "POST",
            f"/v1/projects/{pid}/list-changes",
            json={
                "kind": "adjusted",
                "level": "county_key",
                "reason": "矩阵测试",
                "effective_date": "2020-05-01",
            },
        )
    )["id"]
    await _projected(stack, "factors", pid)
    await _projected(stack, "issues", pid)
    ids["pool_id"] = (
        await stack.ok(
            "factors",
            "POST",
            "/v1/pools",
            json={
                "factor": "land",
                "year": 2030,
                "scope": "city",
                "amount": "100000",
            },
        )
    )["id"]
    ids["allocation_id"] = (await _allocation(stack))["id"]
    ids["source_id"] = (
        await stack.ok(
            "factors",
            "POST",
            "/v1/replacement-sources",
            json={
                "pollutant": "SO2",
                "name": "关停电厂",
                "kind": "closed",
                "amount": "100",
                "county": BINCHENG,
            },
        )
    )["id"]
    ids["demand_id"] = (await _demand(stack))["id"]
    ids["issue_id"] = await _problem(stack, "assigned")
    ids["round_id"] = (await stack.ok("issues", "GET", "/v1/rounds"))["items"][0]["id"]
    ids["publication_id"] = (await stack.ok("scoring", "GET", "/v1/publications"))["items"][0]["id"]
    own_inbox = await stack["notifications"].get("/v1/notifications", headers=CALLERS["own county"])
    ids["notification_id"] = own_inbox.json()["items"][0]["id"]
    sub = await _subscription(stack)
    ids["subscription_id"] = sub
    # an event of 滨城区 gives the subscription a delivery
    await stack.ok(
        "registry",
        "POST",
        f"/v1/projects/{pid}/milestones",
        json={"name": "施工许可", "planned_date": "2020-05-30"},
    )

    async def delivered() -> str | None:
        r = await stack["notifications"].get(
            f"/v1/subscriptions/{sub}/deliveries", headers=COMMANDER
        )
        items = r.json()["items"]
        return str(items[0]["id"]) if items else None

    ids["delivery_id"] = await wait_until(delivered, what="a delivery of the subscription")


async def _allocation(stack: Stack) -> dict[str, Any]:
    return await stack.ok(  # type: ignore[no-any-return]
        "factors",
        "POST",
        "/v1/allocations",
        json={
            "pool_id": stack.ids["pool_id"],
            "project_id": stack.ids["project_id"],
            "amount": "1",
        },
    )


async def _demand(stack: Stack) -> dict[str, Any]:
    return await stack.ok(  # type: ignore[no-any-return]
        "factors",
        "POST",
        "/v1/credit-demands",
        json={"project_id": stack.ids["project_id"], "amount": "1000"},
    )


async def _problem(stack: Stack, status: str, complexity: str = "general") -> str:
    """A problem of the own county's project, walked to `status` by the command office (the
    land bureau its unit once assigned)."""
    body = {
        "project_id": stack.ids["project_id"],
        "category": "land",
        "title": "用地指标不足",
        "description": "矩阵测试",
        "source": "enterprise",
        "complexity": complexity,
    }
    issue = (await stack.ok("issues", "POST", "/v1/issues", json=body))["id"]
    if status == "reported":
        return str(issue)
    await stack.ok("issues", "POST", f"/v1/issues/{issue}/assign", json={"unit": LAND_BUREAU})
    if status == "resolved":
        await stack.ok("issues", "POST", f"/v1/issues/{issue}/resolve", json={"resolution": "办结"})
    return str(issue)


async def _recipient(stack: Stack) -> str:
    body = {"kind": "county", "key": BINCHENG, "name": "滨城区指挥部"}
    r = await stack["notifications"].post("/v1/recipients", json=body, headers=COMMANDER)
    if r.status_code == 201:
        return str(r.json()["id"])
    listed = await stack.ok("notifications", "GET", "/v1/recipients?limit=500")
    return next(
        str(i["id"]) for i in listed["items"] if (i["kind"], i["key"]) == ("county", BINCHENG)
    )


async def _subscription(stack: Stack) -> str:
    body = {"url": "https://hooks.example.com/kuaiche", "county": BINCHENG}
    return str((await stack.ok("notifications", "POST", "/v1/subscriptions", json=body))["id"])


async def _version(stack: Stack, service: str, path: str) -> dict[str, str]:
    r = await stack[service].get(path, headers=COMMANDER)
    return {"If-Match": r.headers["etag"]}


# ---------------------------------------------------------------- the calls
@dataclass
class Call:
    """What one cell sends: path (with the target's ids filled in), body, extra headers."""

    path: str
    json: Any = None
    files: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Make = Callable[[Stack], Awaitable[Call]]


def at(path: str, json: Any = None) -> Make:
    """A call on the seeded resources (`{project_id}` … filled from the seed)."""

    async def make(stack: Stack) -> Call:
        return Call(path.format(**stack.ids), json)

    return make


def made(build: Callable[[Stack], Call]) -> Make:
    """A call built from the seed's ids, fresh for each cell (unique names)."""

    async def make(stack: Stack) -> Call:
        return build(stack)

    return make


def _csv() -> bytes:
    name = f"导入项目-{uuid.uuid4().hex[:8]}"
    return f"项目名称,县区,类别,总投资,单位\n{name},滨城区,实施类,5000,万元\n".encode()


async def _import(stack: Stack) -> Call:
    return Call(
        "/v1/projects/import", files={"file": ("ledger.csv", io.BytesIO(_csv()), "text/csv")}
    )


async def _list_change(stack: Stack) -> Call:
    project = await stack.ok("registry", "POST", "/v1/projects", json=_project_body())
    body = {
        "kind": "adjusted",
        "level": "county_key",
        "reason": "矩阵",
        "effective_date": "2020-06-01",
    }
    return Call(f"/v1/projects/{project['id']}/list-changes", body)


def fresh_project(action: str, body: Any) -> Make:
    """A move on a fresh project of the own county."""

    async def make(stack: Stack) -> Call:
        project = await stack.ok("registry", "POST", "/v1/projects", json=_project_body())
        return Call(f"/v1/projects/{project['id']}/{action}", body)

    return make


async def _credit_demand(stack: Stack) -> Call:
    """One demand per project and year: a fresh project, once factors knows it."""
    project = await stack.ok("registry", "POST", "/v1/projects", json=_project_body())
    await _projected(stack, "factors", project["id"])
    return Call("/v1/credit-demands", {"project_id": project["id"], "amount": "10"})


async def _disbursement(stack: Stack) -> Call:
    demand = stack.ids["demand_id"]
    body = {"bank": "中国农业银行滨州分行", "amount": "1"}
    await stack.ok("factors", "POST", f"/v1/credit-demands/{demand}/grants", json=body)
    return Call(f"/v1/credit-demands/{demand}/disbursements", {"amount": "0.01"})


async def _patch_project(stack: Stack) -> Call:
    path = "/v1/projects/{project_id}".format(**stack.ids)
    return Call(path, {"owner": "新项目单位"}, headers=await _version(stack, "registry", path))


def problem_in(status: str, action: str, body: Any, complexity: str = "general") -> Make:
    """A move on a fresh problem of the own county in `status`."""

    async def make(stack: Stack) -> Call:
        issue = await _problem(stack, status, complexity)
        return Call(f"/v1/issues/{issue}/{action}", body)

    return make


def fresh_allocation(action: str, body: Any) -> Make:
    async def make(stack: Stack) -> Call:
        allocation = await _allocation(stack)
        return Call(f"/v1/allocations/{allocation['id']}/{action}", body)

    return make


async def _scheme(stack: Stack) -> Call:
    scheme = await stack.ok("scoring", "GET", "/v1/schemes/default")
    body = {k: scheme[k] for k in ("name", "effective_from", "indicators", "tie_break")}
    return Call(f"/v1/schemes/matrix-{uuid.uuid4().hex[:8]}", body)


async def _rules(stack: Stack) -> Call:
    rules = await stack.ok("notifications", "GET", "/v1/rules")
    headers = await _version(stack, "notifications", "/v1/rules")
    return Call("/v1/rules", {"rules": rules["rules"]}, headers=headers)


async def _new_recipient(stack: Stack) -> Call:
    """滨城区's recipient, which the demo has: gone first (a county has one recipient)."""
    from sqlalchemy import delete

    from services.notifications.models import Recipient

    async with stack.apps["notifications"].state.runtime.session_factory() as session:
        await session.execute(
            delete(Recipient).where(Recipient.kind == "county", Recipient.key == BINCHENG)
        )
        await session.commit()
    return Call("/v1/recipients", {"kind": "county", "key": BINCHENG, "name": "滨城区指挥部"})


async def _get_recipient(stack: Stack) -> Call:
    return Call(f"/v1/recipients/{await _recipient(stack)}")


async def _patch_recipient(stack: Stack) -> Call:
    path = f"/v1/recipients/{await _recipient(stack)}"
    return Call(
        path, {"name": "滨城区指挥部"}, headers=await _version(stack, "notifications", path)
    )


async def _patch_subscription(stack: Stack) -> Call:
    path = "/v1/subscriptions/{subscription_id}".format(**stack.ids)
    return Call(path, {"description": "矩阵"}, headers=await _version(stack, "notifications", path))


async def _delete_subscription(stack: Stack) -> Call:
    return Call(f"/v1/subscriptions/{await _subscription(stack)}")


# ---------------------------------------------------------------- the rules
@dataclass(frozen=True)
class Rule:
    """The status each caller gets, in COLUMNS order: commander, viewer, own county, other
    county, own department, other department."""

    statuses: tuple[int, int, int, int, int, int]
    call: Make
    public: bool = False  # no token needed
    stream: bool = False  # an answer that never ends: only its status is read

    def expected(self, caller: str) -> int:
        if caller == "anonymous":
            return self.statuses[0] if self.public else 401
        return self.statuses[COLUMNS.index(caller)]


def everyone(call: Make, status: int = 200) -> Rule:
    """Any valid token."""
    return Rule((status,) * 6, call)


def county_read(call: Make) -> Rule:
    """Another county's resource does not exist for a county user; everyone else reads."""
    return Rule((200, 200, 200, 404, 200, 200), call)


def commander_only(call: Make, status: int = 200) -> Rule:
    return Rule((status, 403, 403, 403, 403, 403), call)


def county_write(call: Make, status: int = 200) -> Rule:
    """The command office and the own county write; another county, viewers and departments
    are refused."""
    return Rule((status, 403, status, 403, 403, 403), call)


Key = tuple[str, str, str]  # service, method, path (the router's template)

RULES: dict[Key, Rule] = {
    # registry: projects of a county; departments and viewers read
    ("registry", "GET", "/v1/regions"): everyone(at("/v1/regions")),
    ("registry", "GET", "/v1/regions/{code}"): everyone(at("/v1/regions/371602")),
    ("registry", "POST", "/v1/projects"): county_write(
        made(lambda s: Call("/v1/projects", _project_body())), 201
    ),
    ("registry", "GET", "/v1/projects"): everyone(at("/v1/projects")),
    ("registry", "GET", "/v1/projects/summary"): everyone(at("/v1/projects/summary")),
    ("registry", "GET", "/v1/projects/export"): everyone(at("/v1/projects/export")),
    ("registry", "GET", "/v1/projects/import/template"): everyone(
        at("/v1/projects/import/template")
    ),
    # a ledger's rows are judged together: another county's row is one of its row errors (409,
    # naming row and column; tests/api/registry/test_import.py)
    ("registry", "POST", "/v1/projects/import"): Rule((201, 403, 201, 409, 403, 403), _import),
    ("registry", "GET", "/v1/projects/{project_id}"): county_read(at("/v1/projects/{project_id}")),
    ("registry", "GET", "/v1/projects/{project_id}/history"): county_read(
        at("/v1/projects/{project_id}/history")
    ),
    ("registry", "PATCH", "/v1/projects/{project_id}"): county_write(_patch_project),
    ("registry", "POST", "/v1/projects/{project_id}/stage"): county_write(
        fresh_project("stage", {"stage": "reserve", "date": "2020-01-10"})
    ),
    ("registry", "PUT", "/v1/projects/{project_id}/plans/{year}"): county_write(
        at(
            "/v1/projects/{project_id}/plans/2020",
            {"annual_investment": "1200", "monthly_targets": {"12": "1200"}},
        )
    ),
    ("registry", "POST", "/v1/projects/{project_id}/reports"): county_write(
        made(
            lambda s: Call(
                f"/v1/projects/{s.ids['project_id']}/reports",
                {
                    "period": "2020-04",
                    "ytd_investment": "300",
                    "month_investment": "100",
                    "correction_note": "更正",
                },
            )
        ),
        201,
    ),
    ("registry", "GET", "/v1/projects/{project_id}/reports/{period}"): county_read(
        at("/v1/projects/{project_id}/reports/2020-04")
    ),
    ("registry", "GET", "/v1/projects/{project_id}/progress"): county_read(
        at("/v1/projects/{project_id}/progress?year=2020")
    ),
    ("registry", "POST", "/v1/projects/{project_id}/milestones"): county_write(
        at(
            "/v1/projects/{project_id}/milestones",
            {"name": "竣工验收", "planned_date": "2021-12-31"},
        ),
        201,
    ),
    ("registry", "GET", "/v1/projects/{project_id}/milestones/{milestone_id}"): county_read(
        at("/v1/projects/{project_id}/milestones/{milestone_id}")
    ),
    ("registry", "PATCH", "/v1/projects/{project_id}/milestones/{milestone_id}"): county_write(
        at("/v1/projects/{project_id}/milestones/{milestone_id}", {"note": "按期"})
    ),
    ("registry", "GET", "/v1/projects/{project_id}/milestones"): county_read(
        at("/v1/projects/{project_id}/milestones")
    ),
    ("registry", "POST", "/v1/projects/{project_id}/list-changes"): commander_only(
        _list_change, 201
    ),
    ("registry", "GET", "/v1/projects/{project_id}/list-changes/{change_id}"): county_read(
        at("/v1/projects/{project_id}/list-changes/{change_id}")
    ),
    ("registry", "GET", "/v1/projects/{project_id}/list-changes"): county_read(
        at("/v1/projects/{project_id}/list-changes")
    ),
    ("registry", "GET", "/v1/list-changes"): everyone(at("/v1/list-changes")),
    # factors: the command office sets pools, allocates, releases, grants; a county reads its
    # own and registers credit demands for its own projects
    ("factors", "POST", "/v1/pools"): commander_only(
        at("/v1/pools", {"factor": "energy", "year": 2021, "scope": "city", "amount": "10"}), 201
    ),
    ("factors", "GET", "/v1/pools"): everyone(at("/v1/pools")),
    ("factors", "GET", "/v1/pools/{pool_id}"): everyone(at("/v1/pools/{pool_id}")),
    ("factors", "POST", "/v1/allocations"): commander_only(
        made(
            lambda s: Call(
                "/v1/allocations",
                {"pool_id": s.ids["pool_id"], "project_id": s.ids["project_id"], "amount": "1"},
            )
        ),
        201,
    ),
    ("factors", "GET", "/v1/allocations"): everyone(at("/v1/allocations")),
    ("factors", "GET", "/v1/allocations/{allocation_id}"): county_read(
        at("/v1/allocations/{allocation_id}")
    ),
    ("factors", "POST", "/v1/allocations/{allocation_id}/release"): commander_only(
        fresh_allocation("release", {"reason": "逾期未使用"})
    ),
    ("factors", "POST", "/v1/allocations/{allocation_id}/use"): commander_only(
        fresh_allocation("use", {})
    ),
    ("factors", "POST", "/v1/replacement-sources"): commander_only(
        at(
            "/v1/replacement-sources",
            {"pollutant": "NOx", "name": "关停锅炉", "kind": "closed", "amount": "5"},
        ),
        201,
    ),
    ("factors", "GET", "/v1/replacement-sources"): everyone(at("/v1/replacement-sources")),
    ("factors", "GET", "/v1/replacement-sources/{source_id}"): everyone(
        at("/v1/replacement-sources/{source_id}")
    ),
    ("factors", "POST", "/v1/credit-demands"): county_write(_credit_demand, 201),
    ("factors", "GET", "/v1/credit-demands"): everyone(at("/v1/credit-demands")),
    ("factors", "GET", "/v1/credit-demands/{demand_id}"): county_read(
        at("/v1/credit-demands/{demand_id}")
    ),
    ("factors", "POST", "/v1/credit-demands/{demand_id}/grants"): commander_only(
        at(
            "/v1/credit-demands/{demand_id}/grants", {"bank": "中国农业银行滨州分行", "amount": "1"}
        ),
        201,
    ),
    ("factors", "POST", "/v1/credit-demands/{demand_id}/disbursements"): commander_only(
        _disbursement, 201
    ),
    ("factors", "GET", "/v1/credit/summary"): everyone(at("/v1/credit/summary?year=2020")),
    ("factors", "GET", "/v1/factors/summary"): everyone(at("/v1/factors/summary?year=2020")),
    # issues: a county reports and follows its own; the responsible unit plans, resolves,
    # objects; only the command office assigns, extends, closes; others' problems are 404 to
    # departments, 403 to another county's writes
    ("issues", "POST", "/v1/issues"): county_write(
        made(
            lambda s: Call(
                "/v1/issues",
                {
                    "project_id": s.ids["project_id"],
                    "category": "land",
                    "title": "矩阵",
                    "description": "矩阵",
                    "source": "enterprise",
                },
            )
        ),
        201,
    ),
    ("issues", "GET", "/v1/issues"): everyone(at("/v1/issues")),
    ("issues", "GET", "/v1/issues/stats"): everyone(at("/v1/issues/stats")),
    ("issues", "GET", "/v1/issues/{issue_id}"): Rule(
        (200, 200, 200, 404, 200, 404), at("/v1/issues/{issue_id}")
    ),
    # a reported problem has no unit yet: no department sees it
    ("issues", "POST", "/v1/issues/{issue_id}/assign"): Rule(
        (200, 403, 403, 403, 404, 404), problem_in("reported", "assign", {"unit": LAND_BUREAU})
    ),
    ("issues", "POST", "/v1/issues/{issue_id}/object"): Rule(
        (200, 403, 403, 403, 200, 404), problem_in("assigned", "object", {"reason": "非本单位职责"})
    ),
    ("issues", "POST", "/v1/issues/{issue_id}/plan"): Rule(
        (200, 403, 403, 403, 200, 404),
        problem_in("assigned", "plan", {"plan": "方案", "deadline": "2026-12-30"}, "complex"),
    ),
    ("issues", "POST", "/v1/issues/{issue_id}/extend"): Rule(
        (200, 403, 403, 403, 403, 404),
        problem_in("assigned", "extend", {"working_days": 1, "reason": "延期"}),
    ),
    ("issues", "POST", "/v1/issues/{issue_id}/resolve"): Rule(
        (200, 403, 403, 403, 200, 404), problem_in("assigned", "resolve", {"resolution": "办结"})
    ),
    ("issues", "POST", "/v1/issues/{issue_id}/feedback"): Rule(
        (200, 403, 200, 403, 403, 404), problem_in("resolved", "feedback", {"accepted": True})
    ),
    ("issues", "POST", "/v1/issues/{issue_id}/close"): Rule(
        (200, 403, 403, 403, 403, 404), problem_in("resolved", "close", {"verdict": "agreed"})
    ),
    ("issues", "POST", "/v1/rounds"): commander_only(
        made(
            lambda s: Call(
                "/v1/rounds",
                {
                    "number": 1000 + uuid.uuid4().int % 9000,
                    "name": "矩阵督导",
                    "started_on": "2020-09-01",
                },
            )
        ),
        201,
    ),
    ("issues", "GET", "/v1/rounds"): everyone(at("/v1/rounds")),
    ("issues", "GET", "/v1/rounds/{round_id}"): everyone(at("/v1/rounds/{round_id}")),
    ("issues", "GET", "/v1/calendar/add-workdays"): everyone(
        at("/v1/calendar/add-workdays?from=2020-09-21&days=5")
    ),
    ("issues", "GET", "/v1/calendar/{year:int}"): everyone(at("/v1/calendar/2020")),
    ("issues", "PUT", "/v1/calendar/{year:int}"): commander_only(
        at("/v1/calendar/2099", {"holidays": ["2099-01-01"]})
    ),
    # scoring: the command office and viewers see every division; a county its own card and
    # the published rankings; a department the published rankings only
    ("scoring", "GET", "/v1/scorecards"): Rule(
        (200, 200, 200, 200, 403, 403), at("/v1/scorecards?year=2020&month=4")
    ),
    ("scoring", "GET", "/v1/scorecards/{county}"): Rule(
        (200, 200, 200, 403, 403, 403), at("/v1/scorecards/371602?year=2020&month=4")
    ),
    ("scoring", "GET", "/v1/rankings"): Rule(
        (200, 200, 403, 403, 403, 403), at("/v1/rankings?year=2020&month=5")
    ),
    ("scoring", "GET", "/v1/exposure"): Rule(
        (200, 200, 200, 200, 403, 403), at("/v1/exposure?kind=lagging&year=2020&month=4")
    ),
    ("scoring", "GET", "/v1/exposure/export"): Rule(
        (200, 200, 200, 200, 403, 403), at("/v1/exposure/export?kind=lagging&year=2020&month=4")
    ),
    ("scoring", "GET", "/v1/figures"): Rule(
        (200, 200, 200, 200, 403, 403), at("/v1/figures?year=2020&month=4")
    ),
    ("scoring", "GET", "/v1/schemes"): everyone(at("/v1/schemes")),
    ("scoring", "GET", "/v1/schemes/{version}"): everyone(at("/v1/schemes/default")),
    ("scoring", "PUT", "/v1/schemes/{version}"): commander_only(_scheme, 201),
    ("scoring", "POST", "/v1/publications"): commander_only(
        at("/v1/publications", {"year": 2020, "month": 3}), 201
    ),
    ("scoring", "GET", "/v1/publications"): everyone(at("/v1/publications")),
    ("scoring", "GET", "/v1/publications/{publication_id}"): everyone(
        at("/v1/publications/{publication_id}")
    ),
    ("scoring", "GET", "/v1/admin/epochs"): commander_only(at("/v1/admin/epochs")),
    ("scoring", "POST", "/v1/admin/rebuild"): commander_only(at("/v1/admin/rebuild")),
    # notifications: each token its own inbox (a viewer has none; the command office's own is
    # not 滨城区's); recipients and subscriptions: the command office all, a county its own
    ("notifications", "GET", "/v1/notifications"): Rule(
        (200, 403, 200, 200, 200, 200), at("/v1/notifications")
    ),
    ("notifications", "GET", "/v1/notifications/unread-count"): Rule(
        (200, 403, 200, 200, 200, 200), at("/v1/notifications/unread-count")
    ),
    ("notifications", "POST", "/v1/notifications/read-all"): Rule(
        (200, 403, 200, 200, 200, 200), at("/v1/notifications/read-all")
    ),
    ("notifications", "POST", "/v1/notifications/{notification_id}/read"): Rule(
        (404, 403, 200, 404, 404, 404), at("/v1/notifications/{notification_id}/read")
    ),
    ("notifications", "GET", "/v1/stream"): Rule((200,) * 6, at("/v1/stream"), stream=True),
    ("notifications", "GET", "/v1/rules"): everyone(at("/v1/rules")),
    ("notifications", "PUT", "/v1/rules"): commander_only(_rules),
    ("notifications", "POST", "/v1/recipients"): county_write(_new_recipient, 201),
    ("notifications", "GET", "/v1/recipients"): everyone(at("/v1/recipients")),
    ("notifications", "GET", "/v1/recipients/{recipient_id}"): Rule(
        (200, 200, 200, 404, 404, 404), _get_recipient
    ),
    # a recipient the caller cannot see does not exist for it, to change either (as for
    # subscriptions below)
    ("notifications", "PATCH", "/v1/recipients/{recipient_id}"): Rule(
        (200, 403, 200, 404, 404, 404), _patch_recipient
    ),
    ("notifications", "POST", "/v1/subscriptions"): county_write(
        at("/v1/subscriptions", {"url": "https://hooks.example.com/k", "county": BINCHENG}), 201
    ),
    ("notifications", "GET", "/v1/subscriptions"): Rule(
        (200, 403, 200, 200, 403, 403), at("/v1/subscriptions")
    ),
    ("notifications", "GET", "/v1/subscriptions/{subscription_id}"): Rule(
        (200, 403, 200, 404, 403, 403), at("/v1/subscriptions/{subscription_id}")
    ),
    ("notifications", "PATCH", "/v1/subscriptions/{subscription_id}"): Rule(
        (200, 403, 200, 404, 403, 403), _patch_subscription
    ),
    ("notifications", "DELETE", "/v1/subscriptions/{subscription_id}"): Rule(
        (204, 403, 204, 404, 403, 403), _delete_subscription
    ),
    ("notifications", "GET", "/v1/subscriptions/{subscription_id}/deliveries"): Rule(
        (200, 403, 200, 404, 403, 403), at("/v1/subscriptions/{subscription_id}/deliveries")
    ),
    (
        "notifications",
        "GET",
        "/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}",
    ): Rule(
        (200, 403, 200, 404, 403, 403),
        at("/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}"),
    ),
    (
        "notifications",
        "POST",
        "/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
    ): Rule(
        (201, 403, 201, 404, 403, 403),
        at("/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver"),
    ),
    ("notifications", "POST", "/v1/subscriptions/{subscription_id}/replay"): Rule(
        (200, 403, 200, 404, 403, 403),
        at(
            "/v1/subscriptions/{subscription_id}/replay",
            {"since": "2020-04-01T00:00:00Z", "until": "2020-04-30T00:00:00Z"},
        ),
    ),
    # the catalogue of topics is public: downstream systems read it before they have a token
    ("notifications", "GET", "/v1/asyncapi.json"): Rule(
        (200,) * 6, at("/v1/asyncapi.json"), public=True
    ),
}


async def _opening(app: Any, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """The status and content type a GET of a never-ending answer starts with; the client
    then hangs up (httpx's ASGI transport would wait for the end)."""
    started = asyncio.Event()
    opening: list[tuple[int, str]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await started.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and not opening:
            raw = dict(message.get("headers", []))
            opening.append((message["status"], raw.get(b"content-type", b"").decode()))
            started.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("notifications", 80),
        "app": app,
    }
    task = asyncio.create_task(app(scope, receive, send))
    try:
        await asyncio.wait_for(started.wait(), 20)
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    return opening[0]


def routes() -> set[Key]:
    """Every route the services declare (HEAD aside: Starlette answers it for each GET)."""
    return {
        (name, method, route.path)
        for name, definition in SERVICES.items()
        for router in definition.routers
        for route in router.routes
        for method in getattr(route, "methods", set()) - {"HEAD"}
    }


def test_every_route_has_a_rule() -> None:
    declared = routes()
    assert declared - set(RULES) == set(), "routes without a rule in RULES"
    assert set(RULES) - declared == set(), "rules of routes that no longer exist"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("service", list(SERVICES))
async def test_the_access_matrix(stack: Stack, service: str) -> None:
    wrong: list[str] = []
    for (name, method, template), rule in sorted(RULES.items()):
        if name != service:
            continue
        for caller, headers in CALLERS.items():
            call = await rule.call(stack)
            expected = rule.expected(caller)
            if rule.stream:
                status, content_type = await _opening(stack.apps[service], call.path, headers)
                text = ""
            else:
                r = await stack[service].request(
                    method,
                    call.path,
                    json=call.json,
                    files=call.files,
                    headers={**headers, **call.headers},
                )
                status, content_type = r.status_code, r.headers.get("content-type", "")
                text = r.text
            cell = f"{method} {template} as {caller}: {status}, expected {expected}"
            if status != expected:
                wrong.append(f"{cell} ({text[:300]})")
            elif status >= 400 and not content_type.startswith(PROBLEM_JSON):
                wrong.append(f"{cell} but not problem+json")
    assert not wrong, "\n".join(wrong)
