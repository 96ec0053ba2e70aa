"""The coverage maths: a unit covers a scenario while a device of a certified solution for it
is online and its monitoring has not lapsed; regions sum their whole subtree."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import MonitoringSubscription
from devices.models import Device
from marketplace import services as marketplace_services
from marketplace.models import Scenario, SolutionRevision
from oversight import coverage
from oversight.models import RegionCoverage, UnitCoverage
from tests.marketplace_fixtures import revision_fields
from tests.oversight.programme_fixtures import cover, shop
from units import services as unit_services

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def state(unit, scenario) -> UnitCoverage:
    return UnitCoverage.objects.get(unit=unit, scenario=scenario)


def sums(region, scenario, kind="shop") -> tuple[int, int]:
    return coverage.region_coverage_get(region=region, scenario=scenario, unit_kind=kind)


def test_a_unit_without_devices_is_uncovered_for_every_scenario_of_its_kind(alice_unit, fire):
    coverage.coverage_refresh()

    rows = UnitCoverage.objects.filter(unit=alice_unit)
    applicable = Scenario.objects.filter(unit_kinds__contains=["shop"])
    assert {row.scenario_id for row in rows} == set(applicable.values_list("pk", flat=True))
    assert not any(row.covered for row in rows)
    assert "height" not in {row.scenario.code for row in rows}  # estates and buildings only


def test_an_online_device_of_a_certified_solution_with_monitoring_covers(
    alice_unit, alice, certified, fire
):
    cover(alice_unit, certified, by=alice)
    at = datetime(2026, 5, 4, 10, tzinfo=SHANGHAI)

    coverage.coverage_refresh(now=at)

    row = state(alice_unit, fire)
    assert row.covered and row.solution_id == certified.solution_id
    assert row.covered_since == at
    gas = Scenario.objects.get(code="gas")
    assert not state(alice_unit, gas).covered  # the smoke kit is a fire solution only


def test_a_device_going_offline_uncovers_and_coming_back_covers_again(
    alice_unit, alice, certified, fire
):
    device, _subscription = cover(alice_unit, certified, by=alice)
    first = datetime(2026, 5, 4, 10, tzinfo=SHANGHAI)
    coverage.coverage_refresh(now=first)

    Device.objects.filter(pk=device.pk).update(state=Device.State.OFFLINE)
    coverage.coverage_refresh(now=first + timedelta(minutes=5))
    row = state(alice_unit, fire)
    assert not row.covered and row.covered_since is None and row.solution_id is None

    Device.objects.filter(pk=device.pk).update(state=Device.State.ACTIVE)
    coverage.coverage_refresh(now=first + timedelta(minutes=10))
    assert state(alice_unit, fire).covered_since == first + timedelta(minutes=10)


def test_a_faulty_device_does_not_cover_but_another_online_one_does(
    alice_unit, alice, certified, fire
):
    cover(alice_unit, certified, by=alice, state=Device.State.FAULTY)
    coverage.coverage_refresh()
    assert not state(alice_unit, fire).covered

    cover(alice_unit, certified, by=alice)  # a second device, same subscription
    coverage.coverage_refresh()
    assert state(alice_unit, fire).covered


def test_covered_since_is_kept_while_the_unit_stays_covered(alice_unit, alice, certified, fire):
    cover(alice_unit, certified, by=alice)
    first = datetime(2026, 5, 4, 10, tzinfo=SHANGHAI)
    coverage.coverage_refresh(now=first)

    for minutes in (5, 10, 15):
        coverage.coverage_refresh(now=first + timedelta(minutes=minutes))

    assert state(alice_unit, fire).covered_since == first


@pytest.mark.parametrize(
    ("status", "covered"),
    [("active", True), ("past_due", True), ("lapsed", False), ("cancelled", False)],
)
def test_monitoring_counts_until_it_lapses(alice_unit, alice, certified, fire, status, covered):
    _device, subscription = cover(alice_unit, certified, by=alice)
    coverage.coverage_refresh()

    MonitoringSubscription.objects.filter(pk=subscription.pk).update(status=status)
    coverage.coverage_refresh()

    assert state(alice_unit, fire).covered is covered


def test_a_device_without_a_subscription_does_not_cover(alice_unit, alice, certified, fire):
    cover(alice_unit, certified, by=alice, subscription=None)

    coverage.coverage_refresh()

    assert not state(alice_unit, fire).covered


def test_another_units_subscription_does_not_cover_this_one(
    alice_unit, alice, certified, fire, regions
):
    neighbour = shop(alice_unit.organisation, alice, regions["grid"], "隔壁")
    cover(neighbour, certified, by=alice)
    cover(alice_unit, certified, by=alice, subscription=None)

    coverage.coverage_refresh()

    assert state(neighbour, fire).covered
    assert not state(alice_unit, fire).covered


def test_a_suspended_certificate_uncovers_and_reinstating_it_covers_again(
    alice_unit, alice, certified, fire, rita
):
    cover(alice_unit, certified, by=alice)
    coverage.coverage_refresh()
    assert state(alice_unit, fire).covered

    marketplace_services.certificate_suspend(revision=certified, by=rita, reason="抽检不合格")
    coverage.coverage_refresh()
    assert not state(alice_unit, fire).covered

    marketplace_services.certificate_reinstate(revision=certified, by=rita, reason="整改完成")
    coverage.coverage_refresh()
    assert state(alice_unit, fire).covered


def test_a_revoked_certificate_uncovers(alice_unit, alice, certified, fire, rita):
    cover(alice_unit, certified, by=alice)
    marketplace_services.certificate_revoke(revision=certified, by=rita, reason="造假")

    coverage.coverage_refresh()

    assert not state(alice_unit, fire).covered


def test_a_certificate_past_its_validity_uncovers_even_before_the_expiry_pass(
    alice_unit, alice, certified, fire
):
    cover(alice_unit, certified, by=alice)
    after = datetime.combine(
        certified.valid_until + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI
    )

    coverage.coverage_refresh(now=after)

    assert SolutionRevision.objects.get(pk=certified.pk).status == "certified"
    assert not state(alice_unit, fire).covered


def test_a_newer_certified_revision_keeps_units_on_the_older_one_covered(
    alice_unit, alice, certified, fire
):
    """The unit bought r1; r2 supersedes it. The solution is still certified: covered."""
    cover(alice_unit, certified, by=alice)
    SolutionRevision.objects.filter(pk=certified.pk).update(status="superseded")
    SolutionRevision.objects.create(
        solution=certified.solution,
        number=2,
        status="certified",
        standard=certified.standard,
        certificate_number="TEST-R2",
        valid_until=certified.valid_until,
        **revision_fields(),
    )

    coverage.coverage_refresh()

    assert state(alice_unit, fire).covered


def test_regions_sum_their_whole_subtree_and_other_districts_stay_apart(
    alice_unit, alice, certified, fire, regions, charlie_unit, charlie
):
    second = shop(alice_unit.organisation, alice, regions["grid"], "第二家")
    shop(alice_unit.organisation, alice, regions["grid"], "第三家")
    cover(alice_unit, certified, by=alice)
    cover(second, certified, by=alice)
    cover(charlie_unit, certified, by=charlie)

    coverage.coverage_refresh()

    for level in ("grid", "subdistrict", "district"):
        assert sums(regions[level], fire) == (3, 2), level
    assert sums(regions["city"], fire) == (4, 3)
    assert coverage.region_coverage(region=regions["district"]) == [
        {
            "scenario": scenario,
            "unit_kind": "shop",
            "units": 3,
            "covered": 2 if scenario == fire else 0,
            "pct": 66.7 if scenario == fire else 0.0,
        }
        for scenario in Scenario.objects.filter(unit_kinds__contains=["shop"]).order_by(
            "position", "code"
        )
    ]


def test_uncovered_units_are_listed_by_name_within_the_region_only(
    alice_unit, alice, certified, fire, regions, charlie_unit
):
    park = shop(alice_unit.organisation, alice, regions["grid"], "A 园区", kind="park")
    covered = shop(alice_unit.organisation, alice, regions["grid"], "B 已覆盖")
    cover(covered, certified, by=alice)
    coverage.coverage_refresh()

    listed = coverage.uncovered_units(region=regions["district"], scenario=fire)
    assert list(listed) == [park, alice_unit]
    shops = coverage.uncovered_units(region=regions["district"], scenario=fire, unit_kind="shop")
    assert list(shops) == [alice_unit]
    assert charlie_unit in coverage.uncovered_units(region=regions["city"], scenario=fire)


def test_a_unit_that_changes_kind_loses_the_rows_that_no_longer_apply(
    alice_unit, alice, regions, fire
):
    coverage.coverage_refresh()
    height = Scenario.objects.get(code="height")
    assert not UnitCoverage.objects.filter(unit=alice_unit, scenario=height).exists()

    type(alice_unit).objects.filter(pk=alice_unit.pk).update(kind="building")
    coverage.coverage_refresh()

    assert UnitCoverage.objects.filter(unit=alice_unit, scenario=height).exists()
    assert sums(regions["grid"], fire, "shop") == (0, 0)
    assert not RegionCoverage.objects.filter(unit_kind="shop").exists()
    assert sums(regions["grid"], fire, "building") == (1, 0)


def test_a_second_refresh_with_nothing_changed_writes_nothing(
    alice_unit, alice, certified, charlie_unit
):
    cover(alice_unit, certified, by=alice)
    first = coverage.coverage_refresh()
    assert first["units_written"] > 0 and first["regions_written"] > 0

    again = coverage.coverage_refresh()

    assert again == {
        "units_written": 0,
        "units_deleted": 0,
        "regions_written": 0,
        "regions_deleted": 0,
    }


def test_a_unit_moved_to_another_grid_is_counted_there(alice_unit, alice, certified, regions):
    cover(alice_unit, certified, by=alice)
    coverage.coverage_refresh()
    other_grid = unit_services.region_create(
        code="310101002002", name="第二网格", level="grid", parent=regions["subdistrict"]
    )
    type(alice_unit).objects.filter(pk=alice_unit.pk).update(region=other_grid)

    result = coverage.coverage_refresh()

    assert result["units_written"] == 0  # the unit's own coverage did not change
    fire = certified.solution.scenario
    assert sums(other_grid, fire) == (1, 1)
    assert sums(regions["grid"], fire) == (0, 0)
    assert sums(regions["subdistrict"], fire) == (1, 1)


def test_refreshing_one_unit_gives_what_the_whole_refresh_gives(
    alice_unit, alice, certified, fire, regions, charlie_unit, charlie
):
    cover(charlie_unit, certified, by=charlie)
    coverage.coverage_refresh()
    cover(alice_unit, certified, by=alice)
    assert not state(alice_unit, fire).covered

    coverage.coverage_refresh_unit(unit=alice_unit)

    assert state(alice_unit, fire).covered
    assert sums(regions["district"], fire) == (1, 1)
    assert sums(regions["city"], fire) == (2, 2)
    assert coverage.coverage_refresh()["regions_written"] == 0  # the same sums as a full pass


def test_a_refresh_costs_the_same_few_statements_whatever_the_number_of_units(
    alice_unit, alice, alice_org, certified, regions
):
    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            coverage.coverage_refresh()
        return len(queries)

    few = statements()
    for number in range(30):
        unit = shop(alice_org, alice, regions["grid"], f"店{number}")
        if number % 2:
            cover(unit, certified, by=alice)

    assert statements() == few
    assert sums(regions["grid"], certified.solution.scenario) == (31, 15)


def test_the_beat_task_refreshes(alice_unit, fire):
    from oversight import tasks

    with time_machine.travel(datetime(2026, 5, 4, 10, tzinfo=SHANGHAI), tick=False):
        result = tasks.coverage_refresh.apply().get()

    assert result["units_written"] == UnitCoverage.objects.count() > 0
    assert UnitCoverage.objects.filter(unit=alice_unit, scenario=fire, covered=False).exists()
