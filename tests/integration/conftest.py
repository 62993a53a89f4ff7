import pytest
from helpers import Api


@pytest.fixture
def api(gateway, token):
    return Api(gateway, token("district_admin", ["*"], sub="district-admin"))


@pytest.fixture
def directory(api):
    """Two communities with a grid and two buildings each, created through the API."""
    for code, name, prefix in (("maxian", "马限社区", "MX"), ("luoxing", "罗星社区", "LX")):
        r = api.post(
            "/api/v1/communities",
            {"code": code, "name": name, "district": "mawei", "district_name": "马尾区", "ref_prefix": prefix},
        )
        assert r.status_code == 201, r.text
        assert api.post(f"/api/v1/communities/{code}/grids", {"code": f"{code}-g01", "name": "第一网格"}).ok
        for n in (1, 2):
            r = api.post(
                f"/api/v1/communities/{code}/buildings",
                {"code": f"{code}-b0{n}", "name": f"{n}号楼", "grid": f"{code}-g01", "floors": 11},
            )
            assert r.status_code == 201, r.text
    return api
