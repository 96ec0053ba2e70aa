"""Alerts fixtures: a Tianzifang-like scene. alice's shop sits inside paula's park (the park
office); a smoke detector in the shop reports; the fire station (fred) and the subdistrict
operations centre (olga) cover the subdistrict, the district centre (dora) the district, an
elevator firm (eli) the subdistrict. Outsiders: charlie's shop and fiona's fire station are in
another district; quentin's park office runs another park. Test modules build on `scene`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.reference_data import alerts_seed
from devices import services as device_services
from devices.models import Device
from marketplace.models import Scenario
from marketplace.reference_data import scenarios_seed
from tests import factories
from units import services as unit_services
from units.models import Responder, Unit


@pytest.fixture
def scene(
    regions,
    other_regions,
    alice,
    alice_unit,
    bob,
    vera,
    charlie_unit,
    vendor,
    smoke_detector,
    vince,
):
    """Everything an alarm in alice's shop touches, as a dict of named objects."""
    scenarios_seed(Scenario)  # transactional tests flush the seeded scenarios
    alerts_seed()  # and the rules and policies seeded after them
    paula = factories.UserFactory(email="paula@example.cn", full_name="Paula", phone="13900000001")
    park_org = factories.organisation_for(paula, name="田子坊管委会")
    park = factories.unit_for(
        park_org, by=paula, region=regions["grid"], name="田子坊", kind=Unit.Kind.PARK
    )
    Unit.objects.filter(pk=alice_unit.pk).update(parent=park)
    shop = Unit.objects.get(pk=alice_unit.pk)
    unit_services.unit_grants_sync(units=[shop])
    unit_services.contact_create(
        unit=shop, by=alice, name="张阿姨", phone="13811110001", email="zhang@example.cn"
    )
    unit_services.contact_create(unit=shop, by=alice, name="李师傅", phone="13811110002")

    quentin = factories.UserFactory(email="quentin@example.cn", full_name="Quentin")
    other_park_org = factories.organisation_for(quentin, name="八号桥管委会")
    factories.unit_for(
        other_park_org, by=quentin, region=regions["grid"], name="八号桥", kind=Unit.Kind.PARK
    )

    fred = factories.UserFactory(email="fred@example.cn", full_name="Fred")
    fire_station = factories.responder_for(
        fred,
        name="打浦桥消防站",
        kind=Responder.Kind.FIRE_STATION,
        regions=[regions["subdistrict"]],
        phone="021-119",
    )
    now = timezone.now()
    unit_services.duty_shift_create(
        responder=fire_station,
        by=fred,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=11),
        contact_name="值班员王",
        contact_phone="13722220001",
    )
    olga = factories.UserFactory(email="olga@example.cn", full_name="Olga")
    operations = factories.responder_for(
        olga,
        name="打浦桥街道城运中心",
        kind=Responder.Kind.OPERATIONS_CENTRE,
        regions=[regions["subdistrict"]],
        phone="021-63000001",
    )
    dora = factories.UserFactory(email="dora@example.cn", full_name="Dora")
    district_centre = factories.responder_for(
        dora,
        name="黄浦区城运中心",
        kind=Responder.Kind.OPERATIONS_CENTRE,
        regions=[regions["district"]],
        phone="021-63000000",
    )
    eli = factories.UserFactory(email="eli@example.cn", full_name="Eli")
    elevator_firm = factories.responder_for(
        eli,
        name="迅达维保",
        kind=Responder.Kind.ELEVATOR_MAINTENANCE,
        regions=[regions["subdistrict"]],
        phone="021-64000000",
    )
    fiona = factories.UserFactory(email="fiona@example.cn", full_name="Fiona")
    other_fire_station = factories.responder_for(
        fiona,
        name="静安消防站",
        kind=Responder.Kind.FIRE_STATION,
        regions=[other_regions["district"]],
        phone="021-62000119",
    )

    device, token = device_services.device_provision(
        vendor=vendor, device_model=smoke_detector, serial="SA-0001", by=vince
    )
    Device.objects.filter(pk=device.pk).update(state=Device.State.SHIPPED)
    device = device_services.device_claim(
        unit=shop, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    device_services.device_place(
        device=device,
        by=alice,
        building="主楼",
        floor=1,
        space_type="shop_floor",
        description="收银台上方",
    )
    Device.objects.filter(pk=device.pk).update(
        state=Device.State.ACTIVE,
        last_seen_at=now,
        next_heartbeat_due_at=now + timedelta(seconds=smoke_detector.heartbeat_interval_s),
    )
    device.refresh_from_db()
    return {
        "shop": shop,
        "park": park,
        "device": device,
        "token": token,
        "alice": alice,
        "bob": bob,
        "vera": vera,
        "paula": paula,
        "quentin": quentin,
        "fred": fred,
        "fire_station": fire_station,
        "olga": olga,
        "operations": operations,
        "dora": dora,
        "district_centre": district_centre,
        "eli": eli,
        "elevator_firm": elevator_firm,
        "fiona": fiona,
        "other_fire_station": other_fire_station,
        "charlie_unit": charlie_unit,
        "regions": regions,
    }
