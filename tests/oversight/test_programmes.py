"""Coverage programmes: an authority declares them for a region inside its own, reads their
progress and gaps, and exports the gaps; another authority sees none of it (404)."""

import csv
import io
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse

from accounts.models import AuditEntry
from marketplace.models import Scenario
from oversight import coverage, selectors, services
from oversight.models import CoverageProgramme, ProgrammeNotice
from tests import factories
from tests.oversight.programme_fixtures import cover, in_days, shop

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def create(authority, by, **overrides):
    fields = {
        "name": "商户消防全覆盖",
        "region": None,
        "unit_kind": "shop",
        "scenario": Scenario.objects.get(code="fire"),
        "deadline": in_days(90),
    }
    fields.update(overrides)
    return services.programme_create(authority=authority.authority, by=by, **fields)


def errors_of(excinfo) -> set[str]:
    return set(excinfo.value.error_dict)


@pytest.fixture
def scope(programme, alice_org, alice, alice_unit, certified, regions, charlie_unit, charlie):
    """Three shops in the programme's subdistrict (alice's covered), a park there, and
    charlie's shop in another district; coverage refreshed."""
    second = shop(alice_org, alice, regions["grid"], "B 茶馆")
    third = shop(alice_org, alice, regions["grid"], "C 书店")
    shop(alice_org, alice, regions["grid"], "D 园区", kind="park")
    cover(alice_unit, certified, by=alice)
    cover(charlie_unit, certified, by=charlie)
    coverage.coverage_refresh()
    return {"covered": alice_unit, "uncovered": [second, third]}


# Services ------------------------------------------------------------------------------------


def test_a_reviewer_declares_a_programme_and_it_is_audited(authority, rita, regions, fire):
    programme = create(authority, rita, region=regions["subdistrict"])

    assert (programme.region, programme.unit_kind, programme.scenario) == (
        regions["subdistrict"],
        "shop",
        fire,
    )
    assert programme.created_by == rita
    entry = AuditEntry.objects.get(action="programme.create")
    assert entry.actor == rita and entry.target_id == str(programme.pk)
    assert entry.changes["region"] == regions["subdistrict"].code


def test_the_region_must_lie_inside_the_authoritys_own(authority, rita, other_regions, fire):
    with pytest.raises(ValidationError) as excinfo:
        create(authority, rita, region=other_regions["grid"])
    assert errors_of(excinfo) == {"region"}
    with pytest.raises(ValidationError) as excinfo:
        create(authority, rita, region=other_regions["city"])  # above the district
    assert errors_of(excinfo) == {"region"}


def test_the_kind_must_be_one_the_scenario_applies_to(authority, rita, regions, fire):
    height = Scenario.objects.get(code="height")  # estates and buildings only
    with pytest.raises(ValidationError) as excinfo:
        create(authority, rita, region=regions["grid"], scenario=height)
    assert errors_of(excinfo) == {"unit_kind"}


def test_the_deadline_must_be_in_the_future_and_the_name_not_blank(authority, rita, regions, fire):
    for deadline in (in_days(0), in_days(-3)):
        with pytest.raises(ValidationError) as excinfo:
            create(authority, rita, region=regions["grid"], deadline=deadline, name="  ")
        assert errors_of(excinfo) == {"deadline", "name"}
    assert not CoverageProgramme.objects.exists()


def test_a_viewer_or_an_outsider_may_not_declare(authority, rita, ada, alice, regions, fire):
    for person in (ada, alice):
        with pytest.raises(PermissionDenied):
            create(authority, person, region=regions["grid"])


def test_moving_the_deadline_starts_the_reminders_over(programme, rita, alice_unit):
    ProgrammeNotice.objects.create(programme=programme, unit=alice_unit, kind="reminder_30")

    services.programme_update(programme=programme, by=rita, name="改名")
    assert programme.notices.count() == 1

    services.programme_update(programme=programme, by=rita, deadline=in_days(120))
    assert programme.notices.count() == 0
    entry = AuditEntry.objects.filter(action="programme.update").latest("at")
    assert entry.changes == {"deadline": [in_days(60).isoformat(), in_days(120).isoformat()]}


def test_an_unchanged_past_deadline_does_not_block_other_changes(programme, rita):
    CoverageProgramme.objects.filter(pk=programme.pk).update(deadline=in_days(-5))
    programme.refresh_from_db()

    services.programme_update(programme=programme, by=rita, name="已到期的计划")
    with pytest.raises(ValidationError) as excinfo:
        services.programme_update(programme=programme, by=rita, deadline=in_days(-1))
    assert errors_of(excinfo) == {"deadline"}


def test_withdrawing_a_programme(programme, rita, ada):
    with pytest.raises(PermissionDenied):
        services.programme_delete(programme=programme, by=ada)

    services.programme_delete(programme=programme, by=rita)

    assert not CoverageProgramme.objects.exists()
    assert AuditEntry.objects.filter(action="programme.delete").count() == 1


# Selectors and progress -----------------------------------------------------------------------


def test_another_district_sees_none_of_the_programmes(programme, rita, otto, other_regions):
    theirs = create(otto.memberships.get().organisation, otto, region=other_regions["grid"])

    assert list(selectors.programme_list_for(user=rita)) == [programme]
    assert list(selectors.programme_list_for(user=otto)) == [theirs]
    with pytest.raises(Http404):
        selectors.programme_get_for(user=otto, public_id=programme.public_id)


def test_progress_counts_the_units_of_the_kind_in_the_region(programme, scope):
    progress = selectors.programme_progress(programme=programme)

    assert progress | {"deadline": None} == {
        "units": 3,
        "covered": 1,
        "uncovered": 2,
        "pct": 33.3,
        "deadline": None,
        "days_left": 60,
        "at_risk": False,
        "overdue": False,
        "status": "on_track",
    }
    names = [unit.name for unit in selectors.programme_uncovered_units(programme=programme)]
    assert names == ["B 茶馆", "C 书店"]
    listed = selectors.programme_get_for(user=programme.created_by, public_id=programme.public_id)
    assert (listed.units_in_scope, listed.units_covered) == (3, 1)


def test_a_programme_is_at_risk_within_30_days_under_80_percent(programme, scope):
    soon = programme.deadline - timedelta(days=30)
    assert selectors.programme_progress(programme=programme, today=soon)["status"] == "at_risk"
    assert not selectors.programme_progress(programme=programme, today=soon - timedelta(days=1))[
        "at_risk"
    ]
    after = programme.deadline + timedelta(days=1)
    overdue = selectors.programme_progress(programme=programme, today=after)
    assert (overdue["status"], overdue["at_risk"], overdue["days_left"]) == ("overdue", False, -1)


def test_a_programme_is_met_when_every_unit_is_covered(programme, scope, alice, certified):
    for unit in scope["uncovered"]:
        cover(unit, certified, by=alice)
    coverage.coverage_refresh()

    progress = selectors.programme_progress(programme=programme, today=programme.deadline)
    assert (progress["status"], progress["pct"], progress["at_risk"]) == ("met", 100.0, False)


def test_a_programme_with_no_unit_in_scope_is_empty_not_at_risk(programme):
    progress = selectors.programme_progress(
        programme=programme, today=programme.deadline - timedelta(days=2)
    )
    assert (progress["units"], progress["status"], progress["at_risk"]) == (0, "empty", False)


# Pages ---------------------------------------------------------------------------------------

LIST = "/programmes/"


def detail_url(programme, suffix=""):
    return reverse("oversight:programme", args=[programme.public_id]) + suffix


def test_the_list_shows_each_programmes_coverage_and_status(client_for, rita, programme, scope):
    page = client_for(rita).get(LIST).content.decode()

    assert programme.name in page and f'id="programme-{programme.public_id}"' in page
    assert "1 / 3 (33.3 %)" in page and "On track" in page
    assert 'id="programme-create"' in page
    assert 'id="nav-programmes"' in page
    # The form offers the authority's own regions only.
    for code in ("310101", "310101002", "310101002001"):
        assert f'value="{code}"' in page
    assert 'value="310000"' not in page


def test_the_form_offers_only_the_authoritys_regions(client_for, rita, otto, regions):
    page = client_for(rita).get(LIST).content.decode()

    assert 'value="310106002001"' not in page  # Jing'an


def test_declaring_from_the_page(client_for, rita, regions, fire):
    data = {
        "name": "网格商户消防全覆盖",
        "region": regions["grid"].code,
        "unit_kind": "shop",
        "scenario": "fire",
        "deadline": in_days(45).isoformat(),
    }

    response = client_for(rita).post(LIST, data)

    programme = CoverageProgramme.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(programme)
    assert programme.region == regions["grid"]


def test_the_page_names_the_field_the_service_refused(client_for, rita, other_regions, fire):
    data = {
        "name": "越界",
        "region": other_regions["grid"].code,
        "unit_kind": "shop",
        "scenario": "fire",
        "deadline": in_days(45).isoformat(),
    }

    response = client_for(rita).post(LIST, data, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_region_errors"' in page and "Choose a region inside" in page
    assert "<html" not in page  # the form's partial only
    assert not CoverageProgramme.objects.exists()


def test_a_viewer_reads_but_may_not_declare(client_for, ada, programme, regions):
    client = client_for(ada)
    page = client.get(LIST).content.decode()
    assert programme.name in page and 'id="programme-create"' not in page

    response = client.post(
        LIST,
        {
            "name": "x",
            "region": regions["grid"].code,
            "unit_kind": "shop",
            "scenario": "fire",
            "deadline": in_days(45).isoformat(),
        },
    )
    assert response.status_code == 403
    detail = client.get(detail_url(programme)).content.decode()
    assert 'id="programme-actions"' not in detail


def test_outsiders_get_404_on_every_programme_page(
    client, client_for, programme, otto, alice, alice_unit, charlie
):
    pages = [
        detail_url(programme),
        detail_url(programme, "edit/"),
        detail_url(programme, "uncovered.csv"),
    ]
    for outsider in (otto, alice, charlie):
        session = client_for(outsider)
        for url in pages:
            assert session.get(url).status_code == 404, (outsider, url)
        assert session.post(detail_url(programme, "delete/")).status_code == 404
        assert session.post(detail_url(programme, "edit/"), {"name": "x"}).status_code == 404
    for person in (alice, charlie):  # not in any authority
        assert client_for(person).get(LIST).status_code == 404
        assert client_for(person).get("/oversight/").status_code == 404
    assert client.get(LIST).status_code == 302  # to the login page
    assert CoverageProgramme.objects.get().name == programme.name


def test_the_detail_lists_the_units_not_covered_and_says_when_at_risk(
    client_for, rita, programme, scope
):
    soon = datetime.combine(programme.deadline - timedelta(days=10), datetime.min.time())
    with time_machine.travel(soon.replace(hour=10, tzinfo=SHANGHAI), tick=False):
        page = client_for(rita).get(detail_url(programme)).content.decode()

    for unit in scope["uncovered"]:
        assert f'id="uncovered-{unit.public_id}"' in page
    assert f'id="uncovered-{scope["covered"].public_id}"' not in page
    assert 'id="at-risk-note"' in page
    assert "fewer than 80 % of the units are covered" in page
    assert "10 days left" in page


def test_the_uncovered_list_pages_with_htmx(client_for, rita, programme, scope, alice, alice_org):
    for number in range(30):
        shop(alice_org, alice, scope["covered"].region, f"E{number:02} 小店")
    coverage.coverage_refresh()

    second = client_for(rita).get(detail_url(programme) + "?page=2", HTTP_HX_REQUEST="true")

    body = second.content.decode()
    assert body.lstrip().startswith('<section id="uncovered">')
    assert body.count('class="uncovered-unit"') == 32 - 25
    assert "Page 2 of 2" in body


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


def test_the_exported_csv_matches_the_page(client_for, rita, programme, scope):
    client = client_for(rita)
    page = client.get(detail_url(programme))
    response = client.get(detail_url(programme, "uncovered.csv"))

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header == [
        "Unit",
        "Kind",
        "Address",
        "Grid",
        "Organisation",
        "Responsible person",
        "Phone",
    ]
    on_page = [
        [
            unit.name,
            unit.get_kind_display(),
            unit.address,
            unit.region.name,
            unit.organisation.name,
            unit.responsible_name,
            unit.responsible_phone,
        ]
        for unit in page.context["page_obj"]
    ]
    assert rows == on_page and len(rows) == page.context["progress"]["uncovered"] == 2
    html = unescape(page.content.decode())
    for row in rows:
        assert all(cell in html for cell in row)
    assert selectors.programme_uncovered_csv(programme=programme).splitlines()[1:] == [
        ",".join(row) for row in rows
    ]


def test_csv_cells_are_never_run_as_formulas(client_for, rita, programme, alice, alice_org):
    shop(alice_org, alice, programme.region.children.get(), "=HYPERLINK(1)")
    coverage.coverage_refresh()

    _header, row = csv_rows(client_for(rita).get(detail_url(programme, "uncovered.csv")))

    assert row[0] == "'=HYPERLINK(1)"


def test_changing_and_withdrawing_from_the_pages(client_for, rita, programme, regions):
    client = client_for(rita)
    form = client.get(detail_url(programme, "edit/"))
    assert form.status_code == 200 and form.context["form"]["name"].value() == programme.name

    response = client.post(
        detail_url(programme, "edit/"),
        {
            "name": "改过名的计划",
            "region": regions["grid"].code,
            "unit_kind": "shop",
            "scenario": "fire",
            "deadline": programme.deadline.isoformat(),
        },
    )
    assert response.status_code == 302
    programme.refresh_from_db()
    assert (programme.name, programme.region) == ("改过名的计划", regions["grid"])

    response = client.post(detail_url(programme, "delete/"))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not CoverageProgramme.objects.exists()


def test_a_viewer_may_not_change_or_withdraw(client_for, ada, programme):
    client = client_for(ada)
    assert client.post(detail_url(programme, "delete/")).status_code == 403
    response = client.post(
        detail_url(programme, "edit/"),
        {
            "name": "x",
            "region": programme.region.code,
            "unit_kind": "shop",
            "scenario": "fire",
            "deadline": programme.deadline.isoformat(),
        },
    )
    assert response.status_code == 403


def test_page_queries_do_not_grow_with_units_or_programmes(
    client_for,
    rita,
    programme,
    scope,
    alice,
    alice_org,
    authority,
    regions,
    django_assert_max_num_queries,
):
    client = client_for(rita)

    def queries(url) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    urls = [LIST, detail_url(programme), detail_url(programme, "uncovered.csv"), "/", "/oversight/"]
    before = {url: queries(url) for url in urls}
    for number in range(20):
        shop(alice_org, alice, regions["grid"], f"F{number:02} 小店")
    for number in range(5):
        create(authority, rita, region=regions["grid"], name=f"计划 {number}")
    coverage.coverage_refresh()

    for url in urls:
        with django_assert_max_num_queries(before[url]):
            assert client.get(url).status_code == 200


# API -----------------------------------------------------------------------------------------

API = "/api/v1/programmes/"


def test_the_api_declares_reads_changes_and_withdraws(api_client_for, rita, regions, scope):
    client = api_client_for(rita)
    created = client.post(
        API,
        {
            "name": "网格商户",
            "region": regions["grid"].code,
            "unit_kind": "shop",
            "scenario": "fire",
            "deadline": in_days(20).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["region"]["code"] == regions["grid"].code and body["scenario"] == "fire"
    assert body["progress"]["units"] == 3 and body["progress"]["status"] == "at_risk"
    url = f"{API}{body['id']}/"

    listed = client.get(API).json()
    assert [item["name"] for item in listed["results"]] == ["网格商户", "街道商户消防全覆盖"]

    changed = client.patch(url, {"name": "网格商户（改）"}, format="json")
    assert changed.status_code == 200 and changed.json()["name"] == "网格商户（改）"

    progress = client.get(url + "progress/").json()
    assert (progress["units"], progress["covered"], progress["days_left"]) == (3, 1, 20)
    uncovered = client.get(url + "uncovered/").json()
    assert [unit["name"] for unit in uncovered["results"]] == ["B 茶馆", "C 书店"]

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_the_api_answers_400_by_field_403_for_viewers_404_for_outsiders(
    api_client_for, rita, ada, otto, programme, other_regions
):
    bad = api_client_for(rita).post(
        API,
        {
            "name": "越界",
            "region": other_regions["grid"].code,
            "unit_kind": "shop",
            "scenario": "fire",
            "deadline": in_days(-1).isoformat(),
        },
        format="json",
    )
    assert bad.status_code == 400 and set(bad.json()) == {"region", "deadline"}

    viewer = api_client_for(ada)
    assert viewer.get(f"{API}{programme.public_id}/").status_code == 200
    assert viewer.patch(f"{API}{programme.public_id}/", {"name": "x"}).status_code == 403
    assert viewer.delete(f"{API}{programme.public_id}/").status_code == 403

    outsider = api_client_for(otto)
    assert outsider.get(API).json()["results"] == []
    for suffix in ("", "progress/", "uncovered/"):
        assert outsider.get(f"{API}{programme.public_id}/{suffix}").status_code == 404
    assert outsider.patch(f"{API}{programme.public_id}/", {"name": "x"}).status_code == 404
    assert outsider.delete(f"{API}{programme.public_id}/").status_code == 404
    unit_member = api_client_for(factories.UserFactory())
    created = unit_member.post(
        API,
        {
            "name": "x",
            "region": "310101",
            "unit_kind": "shop",
            "scenario": "fire",
            "deadline": in_days(9).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 404


def test_the_api_is_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    for path in (
        "/api/v1/programmes/",
        "/api/v1/programmes/{programme_id}/",
        "/api/v1/programmes/{programme_id}/progress/",
        "/api/v1/programmes/{programme_id}/uncovered/",
    ):
        assert path in schema["paths"], path


def test_the_operator_admin_lists_programmes_read_only(client_for, programme, scope):
    from accounts.models import User

    operator = User.objects.create_superuser(email="ops@safeunit.cn", full_name="Operator")
    client = client_for(operator)
    for name in ("coverageprogramme", "programmenotice", "unitcoverage", "regioncoverage"):
        assert client.get(reverse(f"admin:oversight_{name}_changelist")).status_code == 200
    change = client.get(reverse("admin:oversight_coverageprogramme_change", args=[programme.pk]))
    assert change.status_code == 200 and programme.name in change.content.decode()
