"""A unit's device API: the devices per role with filters, one device, claiming (errors by
field, the lock), placement (the privacy rule), token rotation; outsiders 404, viewers 403."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from devices import services
from devices.models import Device, Placement
from tests import factories
from units.models import Unit

pytestmark = pytest.mark.django_db
State = Device.State
API = "/api/v1/devices/"


def device_url(device, suffix=""):
    return f"{API}{device.public_id}/{suffix}"


def heartbeat(client, token):
    event = {"id": uuid.uuid4().hex, "ts": datetime.now(UTC).isoformat(), "type": "heartbeat"}
    return client.post(
        "/api/v1/ingest",
        json.dumps({"events": [event]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )


@pytest.fixture
def estate(alice_org, alice, regions):
    return factories.unit_for(
        alice_org,
        by=alice,
        region=regions["grid"],
        name="春江小区",
        kind=Unit.Kind.ESTATE,
        floor_area_m2=68000,
        floors=18,
        households=1120,
    )


@pytest.fixture
def active(placed, client):
    device, token = placed
    assert heartbeat(client, token).status_code == 202
    device.refresh_from_db()
    return device, token


def claim(client, unit, serial, code):
    return client.post(
        f"{API}claim/",
        {"unit": str(unit.public_id), "serial": serial, "claim_code": code},
        format="json",
    )


PLACEMENT = {"building": "3号楼", "floor": 5, "description": "电梯厅"}


# Reading ---------------------------------------------------------------------------------------


def test_my_devices_are_listed_with_their_placement_and_others_are_not(
    api_client_for, alice, bob, vera, charlie, charlie_unit, alice_unit, active
):
    device, _token = active

    for person in (alice, bob, vera):
        body = api_client_for(person).get(API).json()
        assert [d["id"] for d in body["results"]] == [str(device.public_id)], person
    row = body["results"][0]
    assert row["state"] == "active" and row["unit"]["name"] == alice_unit.name
    assert row["placement"]["space_type"] == "shop_floor"
    assert row["last_seen_at"] is not None
    assert api_client_for(charlie).get(API).json()["results"] == []


def test_the_list_filters_by_unit_and_state(
    api_client_for, alice, alice_unit, shipped, vendor, smoke_detector, vince
):
    device, _token = shipped
    services.device_claim(
        unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    client = api_client_for(alice)

    assert len(client.get(API, {"state": "claimed"}).json()["results"]) == 1
    assert client.get(API, {"state": "active"}).json()["results"] == []
    assert len(client.get(API, {"unit": str(alice_unit.public_id)}).json()["results"]) == 1
    assert client.get(API, {"unit": str(uuid.uuid4())}).json()["results"] == []
    bad = client.get(API, {"state": "sleeping", "unit": "nope"})
    assert bad.status_code == 400 and set(bad.json()) == {"state", "unit"}


def test_one_device_in_detail_and_404_for_an_outsider(api_client_for, alice, charlie, active):
    device, _token = active

    body = api_client_for(alice).get(device_url(device)).json()

    assert body["serial"] == device.serial and body["vendor"] == "申安消防科技"
    assert body["metrics"] == [{"name": "smoke", "unit": "dB/m", "min": 0.0, "max": 2.0}]
    assert body["token_prefix"] == device.token_prefix
    assert api_client_for(charlie).get(device_url(device)).status_code == 404
    assert api_client_for(alice).get(f"{API}{uuid.uuid4()}/").status_code == 404


def test_the_list_costs_the_same_queries_for_one_device_or_five(
    api_client_for,
    alice,
    alice_unit,
    vendor,
    smoke_detector,
    vince,
    placed,
    django_assert_max_num_queries,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client_for(alice)
    with CaptureQueriesContext(connection) as one:
        client.get(API)
    for number in range(2, 6):
        device, _token = services.device_provision(
            vendor=vendor, device_model=smoke_detector, serial=f"SA-000{number}", by=vince
        )
        Device.objects.filter(pk=device.pk).update(state=State.SHIPPED)
        services.device_claim(
            unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
        )

    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get(API).json()["results"]) == 5


# Claiming -------------------------------------------------------------------------------------


def test_a_device_is_claimed_by_serial_and_code(api_client_for, bob, alice_unit, shipped):
    device, _token = shipped

    response = claim(api_client_for(bob), alice_unit, device.serial, device.claim_code.lower())

    assert response.status_code == 201
    assert response.json()["state"] == "claimed"
    assert response.json()["unit"]["id"] == str(alice_unit.public_id)


def test_wrong_codes_are_refused_by_field_and_lock_the_device(
    api_client_for, alice, alice_unit, shipped
):
    device, _token = shipped
    client = api_client_for(alice)

    wrong = claim(client, alice_unit, device.serial, "WRONG234")
    assert wrong.status_code == 400
    assert wrong.json() == {"claim_code": ["The claim code does not match this device."]}
    assert Device.objects.get(pk=device.pk).claim_failures == 1
    for _attempt in range(4):
        claim(client, alice_unit, device.serial, "WRONG234")

    locked = claim(client, alice_unit, device.serial, device.claim_code)
    assert locked.status_code == 400
    assert locked.json()["claim_code"][0].startswith("Too many wrong codes; try again after")
    assert Device.objects.get(pk=device.pk).state == State.SHIPPED


def test_claim_errors_name_the_serial(
    api_client_for, alice, alice_unit, charlie, charlie_unit, shipped, provisioned
):
    device, _token = shipped
    assert claim(api_client_for(alice), alice_unit, "NOPE-1", "ABCDEFGH").json() == {
        "serial": ["No device has this serial number."]
    }
    claim(api_client_for(alice), alice_unit, device.serial, device.claim_code)

    again = claim(api_client_for(charlie), charlie_unit, device.serial, device.claim_code)

    assert again.status_code == 400
    assert again.json() == {"serial": ["This device is already claimed by another unit."]}


def test_a_device_in_stock_cannot_be_claimed(api_client_for, alice, alice_unit, provisioned):
    device, _token = provisioned

    response = claim(api_client_for(alice), alice_unit, device.serial, device.claim_code)

    assert response.status_code == 400
    assert response.json() == {"serial": ["This device cannot be claimed while it is In stock."]}


def test_a_viewer_cannot_claim_and_nobody_claims_for_a_unit_not_theirs(
    api_client_for, vera, charlie, alice_unit, shipped
):
    device, _token = shipped

    assert (
        claim(api_client_for(vera), alice_unit, device.serial, device.claim_code).status_code == 403
    )
    outsider = claim(api_client_for(charlie), alice_unit, device.serial, device.claim_code)
    assert outsider.status_code == 400 and set(outsider.json()) == {"unit"}
    assert Device.objects.get(pk=device.pk).state == State.SHIPPED


# Placement ------------------------------------------------------------------------------------


def test_in_an_estate_placement_is_refused_outside_common_spaces(
    api_client_for, alice, estate, shipped
):
    device, _token = shipped
    device = services.device_claim(
        unit=estate, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    client = api_client_for(alice)

    for private in ("inside_home", "shop_floor"):
        response = client.put(
            device_url(device, "placement/"), PLACEMENT | {"space_type": private}, format="json"
        )
        assert response.status_code == 400, private
        assert list(response.json()) == ["space_type"]
    assert not Placement.objects.exists()

    placed = client.put(
        device_url(device, "placement/"),
        PLACEMENT | {"space_type": "corridor", "latitude": "31.2083", "longitude": "121.4682"},
        format="json",
    )
    assert placed.status_code == 200
    assert placed.json()["space_type"] == "corridor"
    assert placed.json()["latitude"] == "31.208300"


def test_a_shop_places_on_its_floor_and_bad_values_name_their_field(
    api_client_for, bob, alice, alice_unit, shipped
):
    device, _token = shipped
    device = services.device_claim(
        unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    client = api_client_for(bob)

    bad = client.put(
        device_url(device, "placement/"),
        {"building": "", "floor": "high", "space_type": "attic", "latitude": 31.2},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"building", "floor", "space_type", "description"}
    home = client.put(
        device_url(device, "placement/"), PLACEMENT | {"space_type": "inside_home"}, format="json"
    )
    assert home.status_code == 400 and list(home.json()) == ["space_type"]

    ok = client.put(
        device_url(device, "placement/"), PLACEMENT | {"space_type": "shop_floor"}, format="json"
    )
    assert ok.status_code == 200
    assert Placement.objects.get(device=device).space_type == "shop_floor"


def test_viewers_are_refused_and_outsiders_get_404_on_placement(
    api_client_for, vera, charlie, placed
):
    device, _token = placed
    body = PLACEMENT | {"space_type": "corridor"}

    assert (
        api_client_for(vera).put(device_url(device, "placement/"), body, format="json").status_code
        == 403
    )
    assert (
        api_client_for(charlie)
        .put(device_url(device, "placement/"), body, format="json")
        .status_code
        == 404
    )
    assert Placement.objects.get(device=device).space_type == "shop_floor"


# Token ----------------------------------------------------------------------------------------


def test_a_manager_rotates_the_token_and_the_old_one_stops_working(
    api_client_for, client, alice, bob, charlie, active
):
    device, old_token = active

    assert api_client_for(bob).post(device_url(device, "token/")).status_code == 403
    assert api_client_for(charlie).post(device_url(device, "token/")).status_code == 404
    response = api_client_for(alice).post(device_url(device, "token/"))

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = response.json()["token"]
    assert response.json()["token_prefix"] == token[:10]
    assert heartbeat(client, old_token).status_code == 401
    assert heartbeat(client, token).status_code == 202
