"""A unit's device pages: claiming (typed or from the QR label, with the wrong-code lock),
placement (the residential privacy rule), the device list with its filters and constant
query count, the device page with its chart, events, timeline and token rotation. Outsiders
get 404, viewers 403, granted organisations read."""

import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from devices import services
from devices.models import Device, DeviceEvent, Placement
from tests import factories
from units.models import Unit

pytestmark = pytest.mark.django_db
State = Device.State


def url(name, *args):
    return reverse(f"devices:{name}", args=args)


def text(response) -> str:
    return html.unescape(response.content.decode())


def report(client, token, events):
    """The device posts events, as its firmware would: [(type, values, minutes ago)]."""
    now = datetime.now(UTC)
    body = {
        "events": [
            {
                "id": uuid.uuid4().hex,
                "ts": (now - timedelta(minutes=ago)).isoformat(),
                "type": kind,
                "values": values,
            }
            for kind, values, ago in events
        ]
    }
    response = client.post(
        "/api/v1/ingest",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )
    assert response.status_code == 202, response.content
    return response


def new_device(vendor, model, vince, serial, *, unit=None, by=None, space="shop_floor"):
    """(device, token) provisioned and shipped; claimed and placed when a unit is given."""
    device, token = services.device_provision(
        vendor=vendor, device_model=model, serial=serial, by=vince
    )
    Device.objects.filter(pk=device.pk).update(state=State.SHIPPED)
    device.refresh_from_db()
    if unit is not None:
        device = services.device_claim(
            unit=unit, by=by, serial=serial, claim_code=device.claim_code
        )
        if space:
            services.device_place(
                device=device,
                by=by,
                building="主楼",
                floor=1,
                space_type=space,
                description="收银台上方",
            )
    return device, token


@pytest.fixture
def estate(alice_org, alice, regions):
    """alice also manages a residential estate."""
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
    """(device, token): alice's placed detector after its first reports."""
    device, token = placed
    report(
        client,
        token,
        [
            ("heartbeat", {"battery_pct": 88, "signal_dbm": -71}, 50),
            ("reading", {"smoke": 0.1}, 40),
            ("reading", {"smoke": 0.3}, 30),
            ("alarm", {"smoke": 1.7}, 20),
        ],
    )
    device.refresh_from_db()
    assert device.state == State.ACTIVE
    return device, token


# Claiming -------------------------------------------------------------------------------------


def test_the_qr_label_prefills_the_claim_form_and_only_my_writable_units_are_offered(
    client_for, alice, alice_unit, charlie_unit
):
    response = client_for(alice).get(url("claim") + "?serial=SA-0001&code=K7M2Q9TX")

    body = text(response)
    assert response.status_code == 200
    assert 'value="SA-0001"' in body and 'value="K7M2Q9TX"' in body
    assert str(alice_unit.public_id) in body
    assert str(charlie_unit.public_id) not in body


def test_a_shipped_device_is_claimed_and_the_placement_form_comes_next(
    client_for, bob, alice_unit, shipped
):
    device, _token = shipped
    response = client_for(bob).post(
        url("claim"),
        {"unit": alice_unit.public_id, "serial": device.serial, "claim_code": device.claim_code},
    )

    assert response.status_code == 302
    assert response.url == url("placement", device.public_id)
    device.refresh_from_db()
    assert (device.state, device.unit) == (State.CLAIMED, alice_unit)


def _claim(client, unit, serial, code):
    return client.post(url("claim"), {"unit": unit.public_id, "serial": serial, "claim_code": code})


def test_a_wrong_code_is_shown_under_its_field_and_counted(client_for, alice, alice_unit, shipped):
    device, _token = shipped

    response = _claim(client_for(alice), alice_unit, device.serial, "WRONG234")

    assert response.status_code == 400
    assert "Claim code: The claim code does not match this device." in text(response)
    device.refresh_from_db()
    assert (device.state, device.claim_failures) == (State.SHIPPED, 1)


def test_with_htmx_the_form_comes_back_with_its_errors_to_be_swapped_in(
    client_for, alice, alice_unit, shipped
):
    device, _token = shipped
    client = client_for(alice)
    data = {"unit": alice_unit.public_id, "serial": device.serial, "claim_code": "WRONG234"}

    refused = client.post(url("claim"), data, HTTP_HX_REQUEST="true")

    body = text(refused)
    assert refused.status_code == 200  # htmx swaps only successful answers
    assert body.lstrip().startswith('<form method="post"') and "<html" not in body
    assert "Claim code: The claim code does not match this device." in body
    claimed = client.post(
        url("claim"), data | {"claim_code": device.claim_code}, HTTP_HX_REQUEST="true"
    )
    assert claimed["HX-Redirect"] == url("placement", device.public_id)


def test_five_wrong_codes_lock_the_device_even_for_the_right_code(
    client_for, alice, alice_unit, shipped
):
    device, _token = shipped
    client = client_for(alice)
    for _attempt in range(5):
        assert _claim(client, alice_unit, device.serial, "WRONG234").status_code == 400

    response = _claim(client, alice_unit, device.serial, device.claim_code)

    assert response.status_code == 400
    assert "Claim code: Too many wrong codes; try again after" in text(response)
    device.refresh_from_db()
    assert (device.state, device.unit, device.claim_failures) == (State.SHIPPED, None, 5)


def test_a_device_claimed_by_another_unit_is_refused(
    client_for, alice, alice_unit, charlie, charlie_unit, shipped
):
    device, _token = shipped
    _claim(client_for(alice), alice_unit, device.serial, device.claim_code)

    response = _claim(client_for(charlie), charlie_unit, device.serial, device.claim_code)

    assert response.status_code == 400
    assert "Serial number: This device is already claimed by another unit." in text(response)
    assert Device.objects.get(pk=device.pk).unit == alice_unit


@pytest.mark.parametrize(
    "serial, message",
    [
        ("NOPE-0001", "Serial number: No device has this serial number."),
        ("SA-0001", "Serial number: This device cannot be claimed while it is In stock."),
    ],
    ids=["unknown-serial", "not-shipped-yet"],
)
def test_an_unknown_or_unshipped_device_cannot_be_claimed(
    client_for, alice, alice_unit, provisioned, serial, message
):
    device, _token = provisioned

    response = _claim(client_for(alice), alice_unit, serial, device.claim_code)

    assert response.status_code == 400
    assert message in text(response)
    assert Device.objects.get(pk=device.pk).state == State.IN_STOCK


def test_another_vendors_serial_with_its_code_does_not_reach_my_device(
    client_for, alice, alice_unit, shipped, other_vendor, wendy, fire
):
    """The same serial at another vendor, still in its stock: the code picks that device,
    which is not for claiming; mine stays untouched."""
    from marketplace import services as marketplace_services
    from marketplace.models import DeviceModel

    mine, _token = shipped
    wendys_model = marketplace_services.device_model_save(
        vendor=other_vendor,
        by=wendy,
        scenarios=[fire],
        name="浦江烟感",
        model_number="PJ-1",
        category=DeviceModel.Category.SMOKE_DETECTOR,
        heartbeat_interval_s=3600,
        heartbeat_grace_s=600,
        protocol=DeviceModel.Protocol.HTTP,
        unit_cost=5000,
    )
    theirs, _token = services.device_provision(
        vendor=other_vendor, device_model=wendys_model, serial=mine.serial, by=wendy
    )

    response = _claim(client_for(alice), alice_unit, mine.serial, theirs.claim_code)

    assert response.status_code == 400
    assert "Serial number: This device cannot be claimed while it is In stock." in text(response)
    assert Device.objects.get(pk=mine.pk).state == State.SHIPPED


def test_a_device_delivered_to_another_unit_cannot_be_claimed(
    client_for, charlie, charlie_unit, shipped_to_alice
):
    (device, _token), _other = shipped_to_alice

    response = _claim(client_for(charlie), charlie_unit, device.serial, device.claim_code)

    assert response.status_code == 400
    assert "Serial number: This device was delivered to another unit." in text(response)
    assert Device.objects.get(pk=device.pk).unit is None


def test_a_viewer_cannot_claim(client_for, vera, alice_unit, shipped):
    device, _token = shipped
    client = client_for(vera)

    assert client.get(url("claim")).status_code == 403
    assert _claim(client, alice_unit, device.serial, device.claim_code).status_code == 403
    assert Device.objects.get(pk=device.pk).state == State.SHIPPED


def test_a_unit_that_is_not_mine_cannot_be_chosen(
    client_for, charlie, charlie_unit, alice_unit, shipped
):
    device, _token = shipped

    response = _claim(client_for(charlie), alice_unit, device.serial, device.claim_code)

    assert response.status_code == 400
    assert "Unit: Choose one of your units." in text(response)
    assert Device.objects.get(pk=device.pk).unit is None


# Placement ------------------------------------------------------------------------------------


def _placement_data(space_type, **fields):
    return {
        "building": "3号楼",
        "floor": 5,
        "space_type": space_type,
        "description": "电梯厅",
        "latitude": "",
        "longitude": "",
    } | fields


def test_in_an_estate_only_common_spaces_are_offered_and_accepted(
    client_for, alice, estate, shipped
):
    device, _token = shipped
    device = services.device_claim(
        unit=estate, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    client = client_for(alice)

    form = text(client.get(url("placement", device.public_id)))
    offered = set(re.findall(r'<option value="([a-z_]+)"', form))
    assert offered == set(Placement.RESIDENTIAL_COMMON)

    for private in ("inside_home", "shop_floor", "kitchen"):
        response = client.post(url("placement", device.public_id), _placement_data(private))
        assert response.status_code == 400, private
        assert "Space: In a residential estate devices go in common spaces only" in text(response)
    assert not Placement.objects.exists()

    response = client.post(
        url("placement", device.public_id),
        _placement_data("stairwell", latitude="31.208300", longitude="121.468200"),
    )
    assert response.status_code == 302
    assert response.url == url("detail", device.public_id)
    placement = Placement.objects.get(device=device)
    assert (placement.space_type, str(placement.latitude)) == ("stairwell", "31.208300")


def test_a_shop_places_on_its_shop_floor_but_never_inside_a_home(
    client_for, bob, alice, alice_unit, shipped
):
    device, _token = shipped
    device = services.device_claim(
        unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
    )
    client = client_for(bob)
    form = text(client.get(url("placement", device.public_id)))
    assert 'value="shop_floor"' in form and 'value="inside_home"' not in form

    refused = client.post(url("placement", device.public_id), _placement_data("inside_home"))
    assert refused.status_code == 400
    assert "Space: " in text(refused)

    saved = client.post(url("placement", device.public_id), _placement_data("shop_floor"))
    assert saved.status_code == 302
    assert Placement.objects.get(device=device).space_type == "shop_floor"


def test_placement_names_the_field_of_a_bad_value(client_for, alice, placed):
    device, _token = placed
    response = client_for(alice).post(
        url("placement", device.public_id),
        _placement_data("corridor", building=" ", floor="x", latitude="31.2"),
    )

    body = text(response)
    assert response.status_code == 400
    assert "Floor: Enter a whole number." in body
    assert "Building: This field is required." in body
    assert "Longitude: Give both latitude and longitude, or neither." in body
    assert Placement.objects.get(device=device).building == "主楼"


def test_a_viewer_cannot_place(client_for, vera, placed):
    device, _token = placed
    client = client_for(vera)

    assert client.get(url("placement", device.public_id)).status_code == 403
    response = client.post(url("placement", device.public_id), _placement_data("corridor"))
    assert response.status_code == 403
    assert Placement.objects.get(device=device).space_type == "shop_floor"


def test_an_outsider_sees_nothing_of_a_device(client_for, charlie, charlie_unit, active):
    device, _token = active
    client = client_for(charlie)

    for path in (
        url("detail", device.public_id),
        url("detail", device.public_id) + "?range=7d",
        url("placement", device.public_id),
    ):
        assert client.get(path).status_code == 404, path
    toggle = client.get(
        url("detail", device.public_id), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="telemetry"
    )
    assert toggle.status_code == 404
    assert (
        client.post(url("placement", device.public_id), _placement_data("corridor")).status_code
        == 404
    )
    assert client.post(url("token", device.public_id)).status_code == 404
    assert device.serial not in text(client.get(url("list")))


# The device list ------------------------------------------------------------------------------


def test_the_list_shows_state_health_placement_and_unit(client_for, alice, alice_unit, active):
    device, _token = active

    response = client_for(alice).get(url("list"))

    body = text(response)
    row = re.search(rf'<tr id="device-{device.public_id}">(.*?)</tr>', body, re.S).group(1)
    assert device.serial in row and "Online" in row
    assert "ago" in row and "88%" in row and "-71 dBm" in row
    assert "主楼 · Floor 1 · Shop floor" in row
    assert alice_unit.name in row


def test_the_list_filters(
    client_for, alice, alice_org, alice_unit, regions, vendor, smoke_detector, vince, active
):
    low, _token = active
    Device.objects.filter(pk=low.pk).update(battery_pct=12)
    second_shop = factories.unit_for(alice_org, by=alice, region=regions["grid"], name="二店")
    claimed, _token = new_device(
        vendor, smoke_detector, vince, "SA-0002", unit=second_shop, by=alice, space=""
    )
    overdue, _token = new_device(
        vendor, smoke_detector, vince, "SA-0003", unit=alice_unit, by=alice
    )
    Device.objects.filter(pk=overdue.pk).update(
        state=State.ACTIVE,
        battery_pct=90,
        next_heartbeat_due_at=datetime.now(UTC) - timedelta(hours=1),
    )
    client = client_for(alice)

    def serials(query: str) -> set[str]:
        body = text(client.get(url("list") + query))
        return set(re.findall(r"SA-000\d", body))

    assert serials("") == {"SA-0001", "SA-0002", "SA-0003"}
    assert serials(f"?unit={second_shop.public_id}") == {"SA-0002"}
    assert serials("?state=claimed") == {"SA-0002"}
    assert serials("?low_battery=on") == {"SA-0001"}
    assert serials("?offline=on") == {"SA-0003"}
    assert serials("?q=0003") == {"SA-0003"}
    # The filters' partial, for htmx.
    partial = client.get(url("list") + "?q=0002", HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "SA-0002" in text(partial)


def test_the_list_costs_the_same_queries_for_one_device_or_five(
    client_for,
    alice,
    alice_unit,
    vendor,
    smoke_detector,
    vince,
    placed,
    django_assert_max_num_queries,
):
    client = client_for(alice)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url("list")).status_code == 200
    for number in range(2, 6):
        new_device(
            vendor,
            smoke_detector,
            vince,
            f"SA-000{number}",
            unit=alice_unit,
            by=alice,
            space="corridor" if number % 2 else "",
        )

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url("list") + "?state=claimed")
    assert text(response).count('<tr id="device-') == 5


def test_a_park_office_and_the_authority_see_the_devices_of_their_units(
    client_for, alice, alice_org, regions, vendor, smoke_detector, vince, rita
):
    pam = factories.UserFactory(email="pam@park.cn", full_name="Pam")
    park = factories.unit_for(
        factories.organisation_for(pam, name="田子坊管委会"),
        by=pam,
        region=regions["grid"],
        name="田子坊",
        kind=Unit.Kind.PARK,
    )
    shop_in_park = factories.unit_for(
        alice_org, by=alice, region=regions["grid"], name="田子坊里的小店", parent=park
    )
    device, _token = new_device(
        vendor, smoke_detector, vince, "SA-0009", unit=shop_in_park, by=alice
    )

    for person in (pam, rita):
        client = client_for(person)
        assert "SA-0009" in text(client.get(url("list")))
        page = client.get(url("detail", device.public_id))
        assert page.status_code == 200
        # They look; placing and credentials are the unit's.
        assert 'id="edit-placement"' not in text(page) and 'id="rotate-token"' not in text(page)
        assert client.get(url("placement", device.public_id)).status_code == 403


# The device page ------------------------------------------------------------------------------


def test_the_device_page_shows_facts_chart_events_and_timeline(client_for, vera, active):
    device, _token = active

    response = client_for(vera).get(url("detail", device.public_id))

    body = text(response)
    assert response.status_code == 200
    assert "88%" in body and "-71 dBm" in body and "收银台上方" in body
    chart = re.search(r'<section id="telemetry">(.*?)</section>', body, re.S).group(1)
    assert "<svg" in chart and 'role="img"' in chart and "<polyline" in chart
    assert "smoke (dB/m) over the last 24 hours" in chart
    events = re.search(r'<section id="events">(.*?)</section>', body, re.S).group(1)
    assert "Alarm" in events and "smoke=1.7" in events and "Waiting" in events
    timeline = re.search(r'<section id="timeline">(.*?)</section>', body, re.S).group(1)
    assert "Shipped → Claimed" in timeline and "Claimed → Online" in timeline
    assert "first report after placement" in timeline
    # A viewer looks only.
    assert 'id="edit-placement"' not in body and 'id="rotate-token"' not in body


def test_the_chart_toggles_to_seven_days_with_htmx(client_for, alice, active):
    device, _token = active
    client = client_for(alice)

    partial = client.get(
        url("detail", device.public_id) + "?range=7d",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="telemetry",
    )
    body = text(partial)
    assert partial.status_code == 200
    assert body.lstrip().startswith('<section id="telemetry">') and "<html" not in body
    assert "over the last 7 days" in body and 'id="range-7d"' in body
    # The same link works without scripts: the whole page.
    page = client.get(url("detail", device.public_id) + "?range=7d")
    assert "<html" in page.content.decode() and "over the last 7 days" in text(page)


def test_a_device_without_data_shows_an_empty_chart(client_for, alice, placed):
    device, _token = placed

    body = text(client_for(alice).get(url("detail", device.public_id)))

    assert "No data in this period." in body and "<polyline" not in body
    assert 'id="needs-placement"' not in body  # placed: it waits for its first report


def test_a_manager_rotates_the_token_and_sees_it_once(client_for, client, alice, active):
    device, old_token = active
    page = client_for(alice)
    assert 'id="rotate-token"' in text(page.get(url("detail", device.public_id)))

    response = page.post(url("token", device.public_id))

    body = text(response)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    new_token = re.search(r"<pre><code>(dv_[^<]+)</code></pre>", body).group(1)
    assert new_token != old_token
    assert new_token not in text(page.get(url("detail", device.public_id)))
    report(client, new_token, [("heartbeat", {}, 0)])
    refused = client.post(
        "/api/v1/ingest",
        json.dumps({"events": [{"id": "x", "ts": datetime.now(UTC).isoformat(), "type": "test"}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {old_token}",
    )
    assert refused.status_code == 401
    assert not DeviceEvent.objects.filter(event_id="x").exists()


def test_staff_cannot_rotate_a_token(client_for, bob, active):
    device, _token = active
    client = client_for(bob)
    before = Device.objects.get(pk=device.pk).token_hash

    assert 'id="rotate-token"' not in text(client.get(url("detail", device.public_id)))
    assert client.post(url("token", device.public_id)).status_code == 403
    assert Device.objects.get(pk=device.pk).token_hash == before


def test_the_nav_links_to_devices_and_claiming(client_for, alice, vera, alice_unit):
    assert 'id="nav-devices"' in text(client_for(alice).get(url("list")))
    assert 'id="nav-claim"' in text(client_for(alice).get(url("list")))
    viewer_page = text(client_for(vera).get(url("list")))
    assert 'id="nav-devices"' in viewer_page and 'id="nav-claim"' not in viewer_page
