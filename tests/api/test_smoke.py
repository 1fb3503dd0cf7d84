from tests.conftest import COMMANDER


async def test_register_and_read(registry):
    body = {
        "name": "滨城区智慧物流园项目",
        "county": "371602",
        "track": "implementation",
        "total_investment": "12000.50",
    }
    r = await registry.client.post("/v1/projects", json=body, headers=COMMANDER)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = await registry.client.get(f"/v1/projects/{pid}", headers=COMMANDER)
    assert r.status_code == 200, r.text
    assert r.json()["total_investment"] == "12000.5"
