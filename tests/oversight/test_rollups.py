"""The dashboards' roll-ups: histogram buckets, percentiles and false-alarm rates from known
alerts, Shanghai days and weeks, every level of the region tree, and the refresh windows."""

import math
import random
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from devices.models import Device
from oversight import dashboards, rollups
from oversight.models import (
    AlertDailyRollup,
    AlertSolutionRollup,
    AlertWindowRollup,
    RegionSnapshot,
)
from tests.oversight import dashboard_fixtures as fixtures
from tests.oversight.dashboard_fixtures import alert_for, cover, loose_device, refresh, shanghai

huangpu = fixtures.huangpu
betty_unit = fixtures.betty_unit

NOW = shanghai(2025, 3, 14, 15, 0)  # a Friday


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1]


# Buckets ----------------------------------------------------------------------------------------


def test_bucket_boundaries():
    assert rollups.bucket_of(0) == 0
    assert rollups.bucket_of(0.99) == 0
    assert rollups.bucket_of(1) == 1
    assert rollups.bucket_of(1.08) == 1  # 2^(1/8) ≈ 1.0905
    assert rollups.bucket_of(1.1) == 2
    assert rollups.bucket_of(2.01) == 9
    assert rollups.bucket_of(10**12) == rollups.MAX_BUCKET


def test_a_bucket_stands_for_its_values_within_the_stated_error():
    randomness = random.Random(7)
    for _ in range(5000):
        seconds = math.exp(randomness.uniform(0, math.log(30 * 86400)))
        estimate = rollups.bucket_seconds(rollups.bucket_of(seconds))
        assert abs(estimate - seconds) / seconds <= rollups.PERCENTILE_ERROR + 1e-12
    assert rollups.PERCENTILE_ERROR < 0.05
    assert dashboards.percentile_error_pct() == 5


@pytest.fixture
def shop_device(alice_unit, certified, alice):
    device, _monitoring = cover(alice_unit, certified, by=alice)
    return device


# Percentiles and rates from known alerts -------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_percentiles_match_the_exact_ones_within_the_error(shop_device, fire, regions):
    randomness = random.Random(1)
    ack_times = [randomness.uniform(5, 3600) for _ in range(200)]
    resolve_times = [ack + randomness.uniform(60, 86400) for ack in ack_times]
    for n, (ack, resolve) in enumerate(zip(ack_times, resolve_times, strict=True)):
        alert_for(
            shop_device,
            raised_at=NOW - timedelta(days=n % 60, hours=1),
            ack_after_s=ack,
            resolve_after_s=resolve,
            scenario=fire,
        )
    refresh()

    found = dashboards.response_figures(region=regions["district"], today=timezone.localdate())

    for measure, values in (("ack", ack_times), ("resolve", resolve_times)):
        for p in (50, 90):
            exact = nearest_rank(values, p / 100)
            for group in (fire.pk, "all"):
                estimate = found[group][f"{measure}_p{p}_s"]
                # Whole seconds on top of the histogram's bound.
                assert abs(estimate - exact) <= exact * rollups.PERCENTILE_ERROR + 1, (measure, p)


@time_machine.travel(NOW, tick=False)
def test_response_table_counts_and_false_alarm_rate(shop_device, fire, regions):
    day = NOW - timedelta(hours=2)
    for seconds in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100):
        alert_for(
            shop_device,
            raised_at=day,
            ack_after_s=seconds,
            resolve_after_s=seconds * 10,
            scenario=fire,
            outcome="false_alarm" if seconds <= 30 else "incident",
        )
    alert_for(shop_device, raised_at=day, ack_after_s=5, scenario=fire, kind="gas")  # open
    alert_for(shop_device, raised_at=day, scenario=None, kind="tamper")  # open, no scenario
    refresh()

    table = dashboards.response_table(region=regions["district"])

    by_label = {row["scenario"]: row for row in table.rows}
    fire_row = by_label[fire.name_en]
    assert fire_row["alerts"] == 11
    assert fire_row["acknowledged"] == 11
    assert fire_row["resolved"] == 10
    assert fire_row["false_alarm_pct"] == 30.0
    # Nearest rank over the 11 acknowledge times (5, 10 … 100): p50 = 50 s, p90 = 90 s.
    assert abs(fire_row["ack_p50_s"] - 50) <= 50 * rollups.PERCENTILE_ERROR
    assert abs(fire_row["ack_p90_s"] - 90) <= 90 * rollups.PERCENTILE_ERROR
    assert abs(fire_row["resolve_p50_s"] - 500) <= 500 * rollups.PERCENTILE_ERROR
    assert abs(fire_row["resolve_p90_s"] - 900) <= 900 * rollups.PERCENTILE_ERROR
    assert by_label["No scenario"]["alerts"] == 1
    assert by_label["No scenario"]["ack_p50_s"] is None
    assert by_label["No scenario"]["false_alarm_pct"] is None
    overall = table.rows[-1]
    assert overall["scenario"] == "All scenarios"
    assert (overall["alerts"], overall["resolved"], overall["false_alarm_pct"]) == (12, 10, 30.0)
    assert table.cells(fire_row)[3] == f"0:00:{fire_row['ack_p50_s']:02d}"  # H:MM:SS


@time_machine.travel(NOW, tick=False)
def test_sql_buckets_agree_with_python(shop_device, fire, regions):
    durations = [0.2, 1.0, 1.5, 59.9, 60.0, 3600.5, 86400 * 3.3]
    for seconds in durations:
        alert_for(
            shop_device,
            raised_at=NOW - timedelta(hours=1),
            ack_after_s=seconds,
            resolve_after_s=seconds,
            scenario=fire,
        )
    refresh()

    row = AlertDailyRollup.objects.get(region=regions["grid"], day=timezone.localdate())
    expected = sorted({rollups.bucket_of(s) for s in durations})
    assert row.ack_buckets == expected
    assert row.resolve_buckets == expected
    assert sum(row.ack_counts) == len(durations)


# Days, weeks and the region tree ------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_alerts_count_on_their_shanghai_day_at_every_level(shop_device, fire, regions):
    alert_for(
        shop_device, raised_at=shanghai(2025, 3, 10, 23, 59), resolve_after_s=60, scenario=fire
    )
    alert_for(shop_device, raised_at=shanghai(2025, 3, 11, 0, 1), resolve_after_s=60, scenario=fire)
    refresh()

    for level in ("grid", "subdistrict", "district", "city"):
        days = dict(
            AlertDailyRollup.objects.filter(region=regions[level]).values_list("day", "alerts")
        )
        assert {d.isoformat(): n for d, n in days.items()} == {"2025-03-10": 1, "2025-03-11": 1}


@time_machine.travel(NOW, tick=False)
def test_weekly_counts(shop_device, fire, regions):
    # This week (from Monday 10 March), the week before, and 12 weeks back (outside).
    for raised_at, n in (
        (shanghai(2025, 3, 10, 8), 3),
        (shanghai(2025, 3, 14, 14), 1),
        (shanghai(2025, 3, 9, 23), 2),
        (shanghai(2024, 12, 15, 12), 5),
    ):
        for _ in range(n):
            alert_for(shop_device, raised_at=raised_at, resolve_after_s=5, scenario=fire)
    refresh()

    table = dashboards.weekly_table(region=regions["subdistrict"])

    assert len(table.rows) == dashboards.WEEKS
    assert table.rows[-1]["week"].isoformat() == "2025-03-10"
    assert table.rows[0]["week"].isoformat() == "2024-12-23"
    weeks = {row["week"].isoformat(): row for row in table.rows}
    assert weeks["2025-03-10"][f"s_{fire.code}"] == 4
    assert weeks["2025-03-10"]["total"] == 4
    assert weeks["2025-03-03"]["total"] == 2
    assert sum(row["total"] for row in table.rows) == 6


@time_machine.travel(NOW, tick=False)
def test_false_alarms_by_solution_and_vendor(
    shop_device, fire, regions, alice_unit, other_vendor, smoke_detector
):
    other = loose_device(alice_unit, other_vendor, smoke_detector)
    day = NOW - timedelta(days=1)
    for outcome in ("false_alarm", "incident", "incident", "incident"):
        alert_for(shop_device, raised_at=day, resolve_after_s=60, outcome=outcome, scenario=fire)
    for outcome in ("false_alarm", "false_alarm"):
        alert_for(other, raised_at=day, resolve_after_s=60, outcome=outcome, scenario=fire)
    alert_for(other, raised_at=day, scenario=fire)  # still open: not in the rate
    refresh()

    solutions = dashboards.false_alarms_by_solution_table(region=regions["district"]).rows
    vendors = dashboards.false_alarms_by_vendor_table(region=regions["district"]).rows

    by_vendor = {row["vendor"]: row for row in vendors}
    assert by_vendor["申安消防科技"]["false_alarm_pct"] == 25.0
    assert by_vendor["浦江智能"] == {
        "vendor": "浦江智能",
        "alerts": 3,
        "resolved": 2,
        "false_alarms": 2,
        "false_alarm_pct": 100.0,
    }
    named = {row["vendor"]: row for row in solutions}
    assert named["申安消防科技"]["solution"] == "Small-shop smoke kit"
    assert named["申安消防科技"]["tier"] == "Mid tier"
    assert named["浦江智能"]["solution"] == "No solution (device not ordered)"
    assert AlertSolutionRollup.objects.filter(region=regions["city"]).count() == 2


@time_machine.travel(NOW, tick=False)
def test_false_alarm_tables_list_vendors_by_name(
    shop_device, fire, regions, alice_unit, other_vendor, smoke_detector
):
    other = loose_device(alice_unit, other_vendor, smoke_detector)
    for device in (shop_device, other):
        alert_for(device, raised_at=NOW - timedelta(days=1), resolve_after_s=60, scenario=fire)
    refresh()

    district = regions["district"]
    for table in (
        dashboards.false_alarms_by_vendor_table(region=district),
        dashboards.false_alarms_by_solution_table(region=district),
    ):
        assert [row["vendor"] for row in table.rows] == ["浦江智能", "申安消防科技"]


# Refresh windows ---------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_recent_refresh_shows_today_at_once_and_nightly_counts_late_handling(
    shop_device, fire, regions
):
    old = alert_for(shop_device, raised_at=NOW - timedelta(days=10), scenario=fire, kind="gas")
    rollups.rollups_refresh_nightly()
    alert_for(shop_device, raised_at=NOW - timedelta(minutes=5), scenario=fire)

    rollups.rollups_refresh_recent()

    district = regions["district"]
    today = AlertDailyRollup.objects.get(region=district, day=timezone.localdate())
    assert today.alerts == 1
    # The old alert is resolved now: the recent pass leaves its day alone, the nightly one
    # counts it.
    old.status, old.outcome, old.resolved_at = "resolved", "incident", NOW
    old.save()
    rollups.rollups_refresh_recent()
    old_day = timezone.localdate(old.raised_at)
    assert AlertDailyRollup.objects.get(region=district, day=old_day).resolved == 0
    rollups.rollups_refresh_nightly()
    assert AlertDailyRollup.objects.get(region=district, day=old_day).resolved == 1


@time_machine.travel(NOW, tick=False)
def test_refresh_rewrites_only_its_days_and_twice_is_the_same(shop_device, fire, regions):
    alert_for(shop_device, raised_at=NOW - timedelta(days=30), resolve_after_s=9, scenario=fire)
    alert_for(shop_device, raised_at=NOW - timedelta(hours=1), resolve_after_s=9, scenario=fire)
    refresh()
    before = sorted(AlertDailyRollup.objects.values_list("region_id", "day", "alerts"))

    rollups.rollups_refresh_recent()
    rollups.rollups_refresh_recent()

    assert sorted(AlertDailyRollup.objects.values_list("region_id", "day", "alerts")) == before


def test_snapshots_count_units_and_devices_at_every_level(
    huangpu, alice_unit, betty_unit, vendor, smoke_detector
):
    loose_device(alice_unit, vendor, smoke_detector)
    loose_device(alice_unit, vendor, smoke_detector, state=Device.State.OFFLINE)
    loose_device(betty_unit, vendor, smoke_detector)
    loose_device(betty_unit, vendor, smoke_detector, state=Device.State.IN_STOCK)

    rollups.region_snapshots_refresh()

    def counts(region):
        snapshot = RegionSnapshot.objects.get(region=region)
        return snapshot.units, snapshot.devices_active, snapshot.devices_offline

    assert counts(huangpu["grid"]) == (1, 1, 1)
    assert counts(huangpu["grid_2"]) == (1, 1, 0)
    assert counts(huangpu["district"]) == (2, 2, 1)
    assert counts(huangpu["city"]) == (2, 2, 1)
    assert RegionSnapshot.objects.count() == 6  # every region, empty ones included


@time_machine.travel(NOW, tick=False)
def test_the_nightly_window_row_gives_the_figures_of_the_days(shop_device, fire, regions):
    randomness = random.Random(3)
    for n in range(150):
        alert_for(
            shop_device,
            raised_at=NOW - timedelta(days=n % 95, hours=1),
            ack_after_s=randomness.uniform(5, 5000),
            resolve_after_s=randomness.uniform(6000, 90000),
            outcome="false_alarm" if n % 3 == 0 else "incident",
            scenario=None if n % 4 == 0 else fire,
        )
    refresh()
    district, today = regions["district"], timezone.localdate()
    from_days = dashboards.response_figures(region=district, today=today)

    assert rollups.rollups_refresh_nightly()["window"] > 0
    first_day, last_day = rollups.window_bounds(today)
    window = AlertWindowRollup.objects.get(region=district, scenario=fire)
    assert (window.first_day, window.last_day) == (first_day, last_day)
    assert dashboards.response_figures(region=district, today=today) == from_days
    # The closed days are read from the window row alone now.
    AlertDailyRollup.objects.filter(region=district, day__lte=last_day).delete()
    assert dashboards.response_figures(region=district, today=today) == from_days
    assert from_days["all"]["alerts"] == 150 - 5  # 5 were raised 90 to 94 days ago


@time_machine.travel(NOW, tick=False)
def test_a_window_row_of_another_day_is_not_used(shop_device, fire, regions):
    alert_for(shop_device, raised_at=NOW - timedelta(days=20), resolve_after_s=60, scenario=fire)
    refresh()
    rollups.alert_window_refresh(today=timezone.localdate() - timedelta(days=1))  # yesterday's

    figures = dashboards.response_figures(region=regions["grid"], today=timezone.localdate())

    assert figures["all"]["alerts"] == 1
    assert AlertWindowRollup.objects.filter(region=regions["grid"]).count() == 1
