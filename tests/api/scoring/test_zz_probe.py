import datetime as dt, json
from tests.api.scoring.upstream import BINCHENG
from tests.conftest import COMMANDER

async def test_probe(scoring):
    up = scoring.upstream
    pid = await up.register(BINCHENG, planned_start=dt.date(2020, 4, 1))
    await up.start(pid, dt.date(2020, 4, 10))
    await up.plan(pid, 2020, "1200")
    await up.report(pid, 2020, 4, "400")
    await scoring.settled()
    r = await scoring.client.get(f"/v1/scorecards/{BINCHENG}", params={"year": 2020, "month": 4}, headers=COMMANDER)
    print(json.dumps(r.json(), ensure_ascii=False, indent=1))
    r = await scoring.client.get("/v1/rankings", params={"year": 2020, "month": 4}, headers=COMMANDER)
    print(json.dumps(r.json(), ensure_ascii=False))
    r = await scoring.client.get("/v1/scorecards", params={"year": 2099, "month": 4}, headers=COMMANDER)
    print(r.status_code, r.headers["content-type"], r.text)
    r = await scoring.client.get("/v1/scorecards", params={"year": 2020, "month": 13}, headers=COMMANDER)
    print(r.status_code, r.headers["content-type"], r.text)
    r = await scoring.client.get("/v1/schemes", headers=COMMANDER)
    print(r.text[:3000])
