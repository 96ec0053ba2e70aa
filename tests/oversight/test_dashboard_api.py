"""The dashboards in the API: every table as JSON with the numbers of the page's CSVs, the
uncovered units, 404 outside the asker's jurisdiction, and both endpoints in the schema."""

import csv
import io

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oversight import dashboards
from tests.oversight import dashboard_fixtures as fixtures
from tests.oversight.test_dashboards import DISTRICT, NOW, SUBDISTRICT, SUBDISTRICT_2
from tests.oversight.test_dashboards import scene as dashboard_scene

huangpu = fixtures.huangpu
sally = fixtures.sally
otto = fixtures.otto
betty_unit = fixtures.betty_unit
scene = dashboard_scene


def api(code: str, tail: str = "") -> str:
    return f"/api/v1/oversight/regions/{code}/{tail}"


def csv_of(client, code: str, table: str) -> list[list[str]]:
    response = client.get(f"/oversight/regions/{code}/{table}.csv")
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


@time_machine.travel(NOW, tick=False)
def test_every_table_as_json_with_the_numbers_of_the_csvs(
    api_client_for, client_for, rita, scene, fire
):
    response = api_client_for(rita).get(api(DISTRICT))

    assert response.status_code == 200
    data = response.json()
    assert data["region"] == {"code": DISTRICT, "name": "黄浦区", "level": "district"}
    assert [crumb["code"] for crumb in data["breadcrumb"]] == ["310000", DISTRICT]
    assert data["window_days"] == 90 and data["weeks"] == 12
    assert data["percentile_error_pct"] == 5
    assert data["as_of"].startswith("2025-03-14T15:00:00")

    page = client_for(rita)
    regions = csv_of(page, DISTRICT, "regions")
    assert [row["code"] for row in data["regions"]] == [DISTRICT, SUBDISTRICT, SUBDISTRICT_2]
    own = data["regions"][0]
    assert own["is_self"] is True
    assert [
        own["name"],
        own["units"],
        own["devices_active"],
        own["devices_offline"],
        own["online_pct"],
        own["coverage_pct"],
        own["alerts"],
    ] == ["黄浦区", 2, 1, 1, 50.0, 12.5, 4]
    assert regions[1] == ["黄浦区", "2", "1", "1", "50.0", "12.5", "4"]

    coverage = csv_of(page, DISTRICT, "coverage")
    fire_coverage = data["coverage"][0]
    assert fire_coverage["scenario"] == "fire" and fire_coverage["unit_kind"] == "shop"
    assert coverage[1][2:] == [
        str(fire_coverage["units"]),
        str(fire_coverage["covered"]),
        str(fire_coverage["uncovered"]),
        dashboards.display(fire_coverage["covered_pct"], dashboards.PERCENT),
    ]

    response_rows = csv_of(page, DISTRICT, "response")
    fire_times = next(row for row in data["response_times"] if row["scenario"] == "fire")
    shown = next(row for row in response_rows if row[0] == fire.name_en)
    assert shown[3] == dashboards.display(fire_times["ack_p50_s"], dashboards.DURATION)
    assert shown[7] == dashboards.display(fire_times["resolve_p90_s"], dashboards.DURATION)
    assert fire_times["false_alarm_pct"] == 25.0
    assert data["response_times"][-1]["scenario_name"] == "All scenarios"

    weeks = data["alerts_per_week"]
    assert len(weeks) == 12 and weeks[-1]["week"] == "2025-03-10"
    assert sum(week["total"] for week in weeks) == 4
    assert weeks[-1]["by_scenario"] == [{"scenario": "fire", "alerts": 2}]

    assert data["false_alarms_by_vendor"] == [
        {
            "vendor": "申安消防科技",
            "alerts": 4,
            "resolved": 4,
            "false_alarms": 1,
            "false_alarm_pct": 25.0,
        }
    ]
    assert data["false_alarms_by_solution"][0]["solution"] == "Small-shop smoke kit"
    catalog = {row["scenario"]: row for row in data["catalog"]}
    assert (catalog["fire"]["low"], catalog["fire"]["mid"], catalog["fire"]["total"]) == (0, 1, 1)


@time_machine.travel(NOW, tick=False)
def test_outside_the_jurisdiction_answers_404(api_client_for, rita, sally, otto, scene):
    for user, code in ((otto, DISTRICT), (sally, DISTRICT), (sally, SUBDISTRICT_2), (rita, "9")):
        client = api_client_for(user)
        assert client.get(api(code)).status_code == 404, (user.email, code)
        assert client.get(api(code, "uncovered/?scenario=fire")).status_code == 404
    assert api_client_for(sally).get(api(SUBDISTRICT)).status_code == 200


def test_signed_out_is_refused(client, regions):
    assert client.get(api(DISTRICT)).status_code in (401, 403)


@time_machine.travel(NOW, tick=False)
def test_uncovered_units_are_listed_by_page(api_client_for, rita, scene):
    client = api_client_for(rita)

    response = client.get(api(DISTRICT, "uncovered/?scenario=fire&kind=shop"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [unit["name"] for unit in body["results"]] == ["Betty's shop"]
    assert client.get(api(DISTRICT, "uncovered/?scenario=nope")).status_code == 404
    assert client.get(api(DISTRICT, "uncovered/?scenario=fire&kind=castle")).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_the_query_count_is_that_of_the_page(api_client_for, rita, scene):
    client = api_client_for(rita)
    client.get(api(DISTRICT))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(api(DISTRICT)).status_code == 200
    assert len(queries) <= 20


def test_both_endpoints_are_in_the_schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    paths = response.json()["paths"]
    assert "/api/v1/oversight/regions/{code}/" in paths
    uncovered = paths["/api/v1/oversight/regions/{code}/uncovered/"]["get"]
    assert {p["name"] for p in uncovered["parameters"]} >= {"code", "scenario", "kind", "page"}
