"""Dashboard fixtures, imported by the dashboard and roll-up test modules.

Huangpu (rita's district) has two subdistricts: the fixtures' 310101002 with its grid (alice's
shop) and 310101003 with one more grid (betty's shop). sally reviews only subdistrict
310101002; otto reviews Jing'an (tests.oversight.programme_fixtures). Alerts are written
straight with the ORM at chosen times: the roll-ups only read the alert rows, and raising and
handling alerts is tested in tests/alerts.
"""

from datetime import datetime, timedelta
from itertools import count

import pytest
from django.utils import timezone

from alerts.models import Alert
from devices.models import Device
from oversight import rollups
from tests import factories
from tests.oversight.programme_fixtures import cover, otto  # noqa: F401 (fixture)
from units import services as unit_services
from units.models import Region

_serials = count(1)


def shanghai(year, month, day, hour=12, minute=0) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def alert_for(
    device: Device,
    *,
    raised_at: datetime,
    ack_after_s: float | None = None,
    resolve_after_s: float | None = None,
    outcome: str = "",
    scenario=None,
    kind: str = "fire",
) -> Alert:
    """An alert of `device` raised at `raised_at`, acknowledged and resolved that many
    seconds later (resolved with `outcome`, "incident" unless given)."""
    resolved = resolve_after_s is not None
    return Alert.objects.create(
        device=device,
        unit=device.unit,
        region=device.unit.region,
        scenario=scenario,
        kind=kind,
        severity="critical",
        life_safety=kind == "fire",
        status=Alert.Status.RESOLVED if resolved else Alert.Status.OPEN,
        outcome=(outcome or Alert.Outcome.INCIDENT) if resolved else "",
        first_event_at=raised_at,
        last_event_at=raised_at,
        raised_at=raised_at,
        acknowledged_at=raised_at + timedelta(seconds=ack_after_s)
        if ack_after_s is not None
        else None,
        resolved_at=raised_at + timedelta(seconds=resolve_after_s) if resolved else None,
    )


def loose_device(unit, vendor, device_model, *, state=Device.State.ACTIVE) -> Device:
    """A device of `vendor` in `unit` that was not bought through an order."""
    return Device.objects.create(
        vendor=vendor,
        device_model=device_model,
        serial=f"L-{next(_serials):06}",
        claim_code="000000",
        state=state,
        unit=unit,
    )


def refresh(*, now: datetime | None = None, days: int = 400) -> None:
    """Every roll-up, over `days` days up to today (the tests' data is within them)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    rollups.alert_rollups_refresh(first_day=today - timedelta(days=days), last_day=today, now=now)
    rollups.region_snapshots_refresh(now=now)


@pytest.fixture
def huangpu(regions):
    """The fixtures' tree plus a second subdistrict of Huangpu with a grid."""
    subdistrict = unit_services.region_create(
        code="310101003",
        name="黄浦区另一街道",
        level=Region.Level.SUBDISTRICT,
        parent=regions["district"],
    )
    grid = unit_services.region_create(
        code="310101003001", name="另一网格", level=Region.Level.GRID, parent=subdistrict
    )
    return regions | {"subdistrict_2": subdistrict, "grid_2": grid}


@pytest.fixture
def sally(regions):
    """A reviewer of subdistrict 310101002 only."""
    user = factories.UserFactory(email="sally@example.cn", full_name="Sally")
    unit_services.authority_create(name="某街道办", region=regions["subdistrict"], owner=user)
    return user


@pytest.fixture
def betty_unit(huangpu):
    betty = factories.UserFactory(email="betty@example.cn", full_name="Betty")
    organisation = factories.organisation_for(betty, name="Betty's shop")
    return factories.unit_for(organisation, by=betty, region=huangpu["grid_2"], name="Betty's shop")
