"""The jurisdiction dashboard pages: who sees which region, drill-down, the tables and their
CSVs (the same numbers), the uncovered units, the charts, and a query count that does not
grow with the data."""

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.models import Device
from oversight import coverage, dashboards
from tests import factories
from tests.oversight import dashboard_fixtures as fixtures
from tests.oversight.dashboard_fixtures import alert_for, cover, loose_device, refresh, shanghai
from units.models import Unit

huangpu = fixtures.huangpu
sally = fixtures.sally
otto = fixtures.otto
betty_unit = fixtures.betty_unit

NOW = shanghai(2025, 3, 14, 15, 0)
DISTRICT, SUBDISTRICT, GRID = "310101", "310101002", "310101002001"
SUBDISTRICT_2 = "310101003"


def url(code: str, tail: str = "") -> str:
    return f"/oversight/regions/{code}/{tail}"


class _Tables(HTMLParser):
    """Cells of every <table id=…> on a page, as text, row by row (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(response) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def scene(huangpu, rita, alice, alice_unit, betty_unit, certified, vendor, smoke_detector, fire):
    """alice's shop covers fire safety (and has one more device, offline); betty's shop in the
    other subdistrict does not. Alerts in alice's shop over the last weeks."""
    device, _monitoring = cover(alice_unit, certified, by=alice)
    loose_device(alice_unit, vendor, smoke_detector, state=Device.State.OFFLINE)
    for days, outcome in ((1, "false_alarm"), (3, "incident"), (10, "incident"), (40, "test")):
        alert_for(
            device,
            raised_at=NOW - timedelta(days=days),
            ack_after_s=30 * days,
            resolve_after_s=600 * days,
            outcome=outcome,
            scenario=fire,
        )
    with time_machine.travel(NOW, tick=False):
        coverage.coverage_refresh()
        refresh()
    return {"device": device, **huangpu}


# Who sees what ---------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_district_reviewer_sees_the_district_and_drills_down(client_for, rita, scene, fire):
    client = client_for(rita)

    response = client.get(url(DISTRICT))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="breadcrumb"' in page and "Shanghai" in page  # its English name
    assert f'href="{url("310000")}"' not in page  # above rita's jurisdiction: named, not linked
    regions = page_tables(response)["table-regions"]
    assert regions[0][:2] == ["Region", "Units"]
    assert regions[1] == ["黄浦区", "2", "1", "1", "50.0", "12.5", "4"]
    assert regions[2][0] == "黄浦区某街道" and regions[3][0] == "黄浦区另一街道"
    assert f'href="{url(SUBDISTRICT)}"' in page and f'href="{url(SUBDISTRICT_2)}"' in page

    drilled = client.get(url(SUBDISTRICT))
    assert drilled.status_code == 200
    assert f'href="{url(DISTRICT)}"' in drilled.content.decode()  # back up the breadcrumb
    grid_rows = page_tables(drilled)["table-regions"]
    assert grid_rows[1] == ["黄浦区某街道", "1", "1", "1", "50.0", "25.0", "4"]
    assert grid_rows[2][0] == "黄浦区第一网格"
    assert client.get(url(GRID)).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_another_jurisdiction_answers_404_everywhere(
    client_for, rita, sally, otto, alice, scene, other_regions
):
    outside = [
        (rita, other_regions["district"].code),
        (rita, other_regions["grid"].code),
        (rita, "999999"),
        (otto, DISTRICT),
        (otto, GRID),
        (sally, DISTRICT),
        (sally, SUBDISTRICT_2),
        (alice, GRID),
    ]
    for user, code in outside:
        client = client_for(user)
        for tail in ("", "uncovered/?scenario=fire&kind=shop", "coverage.csv", "uncovered.csv"):
            response = client.get(url(code, tail))
            assert response.status_code == 404, (user.email, code, tail)
    sally_client = client_for(sally)
    response = sally_client.get(url(SUBDISTRICT))
    assert response.status_code == 200
    assert f'href="{url(DISTRICT)}"' not in response.content.decode()


def test_someone_signed_out_is_sent_to_log_in(client, regions):
    response = client.get(url(DISTRICT))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_dashboards_home_opens_the_authority_region(client_for, sally, regions):
    response = client_for(sally).get("/oversight/regions/")

    assert response.status_code == 302
    assert response["Location"] == url(SUBDISTRICT)


def test_someone_in_no_authority_has_no_dashboards(client_for, alice, alice_unit):
    assert client_for(alice).get("/oversight/regions/").status_code == 404


# Tables, CSVs and charts -------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_every_csv_has_the_numbers_on_the_page(client_for, rita, scene):
    client = client_for(rita)
    shown = page_tables(client.get(url(DISTRICT)))

    for name in dashboards.TABLES:
        response = client.get(url(DISTRICT, f"{name}.csv"))

        assert response.status_code == 200, name
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert f'filename="{DISTRICT}-{name}.csv"' in response["Content-Disposition"]
        assert csv_rows(response) == shown[f"table-{name}"], name


@time_machine.travel(NOW, tick=False)
def test_the_tables_show_the_known_numbers(client_for, rita, scene, fire):
    tables = page_tables(client_for(rita).get(url(DISTRICT)))

    coverage_rows = tables["table-coverage"]
    assert coverage_rows[1][:6] == [fire.name_en, "Street shop", "2", "1", "1", "50.0"]
    response = tables["table-response"]
    # The alerts of the last 90 days, acknowledged after 30, 90, 300, 1200 s.
    fire_row = next(row for row in response if row[0] == fire.name_en)
    assert fire_row[1:3] == ["4", "4"]
    assert fire_row[5] == "4"
    assert fire_row[8] == "25.0"  # one of four resolved was a false alarm
    weekly = tables["table-weekly"]
    assert len(weekly) == 1 + dashboards.WEEKS
    assert weekly[-1][0] == "2025-03-10"
    assert weekly[0] == ["Week of", fire.name_en, "All alerts"]
    assert sum(int(row[-1]) for row in weekly[1:]) == 4
    vendors = tables["table-false_alarms_by_vendor"]
    assert vendors[1] == ["申安消防科技", "4", "4", "1", "25.0"]
    catalog = tables["table-catalog"]
    assert [fire.name_en, "0", "1", "0", "1"] in catalog


@time_machine.travel(NOW, tick=False)
def test_charts_are_svg_with_a_title_and_a_description(client_for, rita, scene):
    page = client_for(rita).get(url(DISTRICT)).content.decode()

    for chart_id in ("chart-online", "chart-coverage", "chart-weekly", "chart-false-alarms"):
        assert f'id="{chart_id}"' in page
        assert f'<title id="{chart_id}-title">' in page
        assert f'<desc id="{chart_id}-desc">' in page
    assert 'viewBox="0 0 360 ' in page  # drawn for a phone's width
    assert "4 alerts in the 12 weeks" in page


@time_machine.travel(NOW, tick=False)
def test_an_unknown_table_is_404(client_for, rita, scene):
    assert client_for(rita).get(url(DISTRICT, "nothing.csv")).status_code == 404


def test_before_the_first_refresh_the_page_says_so(client_for, rita, regions):
    response = client_for(rita).get(url(DISTRICT))

    assert response.status_code == 200
    assert "Not computed yet" in response.content.decode()


# Uncovered units ---------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_the_uncovered_units_load_into_the_page_and_stand_alone(client_for, rita, scene):
    client = client_for(rita)
    page = client.get(url(DISTRICT)).content.decode()
    link = url(DISTRICT, "uncovered/?scenario=fire&amp;kind=shop")
    assert f'href="{link}" hx-get="{link}" hx-target="#uncovered-units"' in page

    partial = client.get(
        url(DISTRICT, "uncovered/?scenario=fire&kind=shop"), HTTP_HX_REQUEST="true"
    )
    full = client.get(url(DISTRICT, "uncovered/?scenario=fire&kind=shop"))

    assert partial.status_code == full.status_code == 200
    assert "<html" not in partial.content.decode() and "<html" in full.content.decode()
    for response in (partial, full):
        text = response.content.decode()
        assert "Betty&#x27;s shop" in text and "Alice&#x27;s shop" not in text
    assert (
        client.get(url(SUBDISTRICT, "uncovered/?scenario=fire")).content.decode().count('id="unit-')
        == 0
    )
    assert client.get(url(DISTRICT, "uncovered/?scenario=nope")).status_code == 404
    assert client.get(url(DISTRICT, "uncovered/?scenario=fire&kind=castle")).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_uncovered_units_are_paged_and_exported(client_for, rita, scene, huangpu):
    owner = factories.UserFactory(email="many@example.cn")
    organisation = factories.organisation_for(owner, name="Many shops")
    Unit.objects.bulk_create(
        Unit(
            organisation=organisation,
            name=f"Shop {n:02}",
            kind=Unit.Kind.SHOP,
            region=huangpu["grid_2"],
            address="somewhere",
            floor_area_m2=20,
            responsible_name="x",
            responsible_phone="13800000000",
        )
        for n in range(30)
    )
    coverage.coverage_refresh()
    client = client_for(rita)

    first = client.get(url(DISTRICT, "uncovered/?scenario=fire&kind=shop"))
    second = client.get(url(DISTRICT, "uncovered/?scenario=fire&kind=shop&page=2"))
    exported = client.get(url(DISTRICT, "uncovered.csv?scenario=fire&kind=shop"))

    assert first.content.decode().count('id="unit-') == 25
    assert "Page 1 of 2" in first.content.decode()
    assert second.content.decode().count('id="unit-') == 6
    rows = csv_rows(exported)
    assert rows[0][:3] == ["Name", "Kind", "Grid"]
    assert len(rows) == 1 + 31
    assert {row[0] for row in rows[1:]} == {"Betty's shop"} | {f"Shop {n:02}" for n in range(30)}


# Cost ------------------------------------------------------------------------------------------


def _page_queries(client, code: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(code)).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_data(
    client_for, rita, huangpu, alice, alice_unit, certified, vendor, other_vendor, smoke_detector
):
    with time_machine.travel(NOW, tick=False):
        device, _monitoring = cover(alice_unit, certified, by=alice)
        alert_for(device, raised_at=NOW - timedelta(days=1), resolve_after_s=60)
        coverage.coverage_refresh()
        refresh()
        client = client_for(rita)
        few = {code: _page_queries(client, code) for code in (DISTRICT, SUBDISTRICT, GRID)}

    # Many more units, devices of two vendors, alerts of every outcome over the year.
    owner = factories.UserFactory(email="many@example.cn")
    organisation = factories.organisation_for(owner, name="Many shops")
    units = Unit.objects.bulk_create(
        Unit(
            organisation=organisation,
            name=f"Shop {n:02}",
            kind=Unit.Kind.SHOP if n % 2 else Unit.Kind.ESTATE,
            region=huangpu["grid" if n % 3 else "grid_2"],
            address="somewhere",
            floor_area_m2=20,
            responsible_name="x",
            responsible_phone="13800000000",
        )
        for n in range(40)
    )
    with time_machine.travel(NOW, tick=False):
        for n, unit in enumerate(units):
            more, _monitoring = cover(unit, certified, by=alice)
            loose = loose_device(unit, other_vendor, smoke_detector)
            for days in range(0, 200, 17):
                alert_for(
                    more if n % 2 else loose,
                    raised_at=NOW - timedelta(days=days, hours=n % 24),
                    ack_after_s=n * 7 + days,
                    resolve_after_s=n * 100 + days,
                    outcome=("false_alarm", "incident", "test")[n % 3],
                    scenario=None if n % 5 == 0 else certified.solution.scenario,
                )
        coverage.coverage_refresh()
        refresh()
        many = {code: _page_queries(client, code) for code in (DISTRICT, SUBDISTRICT, GRID)}

    assert many == few, (few, many)
    assert max(few.values()) <= 20
    assert timezone.now()  # the clock is back
