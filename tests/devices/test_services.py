"""Device services: provisioning, claiming (with its rate limit), placement (the privacy rule),
fulfilment of paid orders, retirement, returns and restocking, and the state log they write."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from billing.models import Lease, Order
from devices import services
from devices.ingest import token_hash
from devices.models import Device, DeviceTransition, Placement
from marketplace import services as marketplace_services
from marketplace.models import DeviceModel
from tests import factories
from tests.marketplace_fixtures import YUAN
from units.models import Unit

pytestmark = pytest.mark.django_db
State = Device.State


def report(client, token, type_="heartbeat", values=None):
    """The device posts one event, as its firmware would."""
    event = {"id": uuid.uuid4().hex, "ts": datetime.now(UTC).isoformat()}
    event |= {"type": type_, "values": values or {}}
    return client.post(
        "/api/v1/ingest",
        json.dumps({"events": [event]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Device {token}",
    )


def states(device) -> list[tuple[str, str]]:
    return list(device.transitions.values_list("from_state", "to_state"))


def field_errors(error: pytest.ExceptionInfo) -> list[str]:
    return list(error.value.message_dict)


@pytest.fixture
def gateway_model(vendor, vince, fire):
    """vince's second device model, which alice's order does not contain."""
    return marketplace_services.device_model_save(
        vendor=vendor,
        by=vince,
        scenarios=[fire],
        name="消防物联网关",
        model_number="SA-G10",
        category=DeviceModel.Category.GATEWAY,
        heartbeat_interval_s=60,
        heartbeat_grace_s=60,
        protocol=DeviceModel.Protocol.MQTT,
        unit_cost=400 * YUAN,
    )


@pytest.fixture
def wendys_model(other_vendor, wendy, fire):
    return marketplace_services.device_model_save(
        vendor=other_vendor,
        by=wendy,
        scenarios=[fire],
        name="浦江烟感",
        model_number="PJ-1",
        category=DeviceModel.Category.SMOKE_DETECTOR,
        heartbeat_interval_s=3600,
        heartbeat_grace_s=600,
        protocol=DeviceModel.Protocol.HTTP,
        unit_cost=50 * YUAN,
    )


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


# Provisioning -------------------------------------------------------------------------------


def test_provisioning_makes_a_claim_code_and_a_token_shown_once_and_stored_hashed(provisioned):
    device, token = provisioned

    device.refresh_from_db()
    assert device.state == State.IN_STOCK and device.unit is None
    assert len(device.claim_code) == 8 and device.claim_code.isalnum()
    assert token.startswith("dv_") and len(token) > 30
    assert device.token_hash == token_hash(token) != token
    assert device.token_prefix == token[:10]
    stored = Device.objects.filter(pk=device.pk).values()[0]
    assert token not in {str(value) for value in stored.values()}
    assert states(device) == [("", "in_stock")]


def test_a_serial_is_unique_per_vendor(
    provisioned, vendor, smoke_detector, vince, other_vendor, wendy, wendys_model
):
    with pytest.raises(ValidationError) as error:
        services.device_provision(
            vendor=vendor, device_model=smoke_detector, serial=" SA-0001 ", by=vince
        )
    assert field_errors(error) == ["serial"]
    assert Device.objects.filter(vendor=vendor).count() == 1

    # Another vendor may use the same serial for its own device.
    theirs, _token = services.device_provision(
        vendor=other_vendor, device_model=wendys_model, serial="SA-0001", by=wendy
    )
    assert theirs.vendor == other_vendor


def test_another_vendors_device_model_is_refused(other_vendor, wendy, smoke_detector):
    with pytest.raises(ValidationError) as error:
        services.device_provision(
            vendor=other_vendor, device_model=smoke_detector, serial="PJ-0001", by=wendy
        )

    assert field_errors(error) == ["device_model"]
    assert not Device.objects.exists()


def test_only_the_vendors_members_who_may_write_provision(
    vendor, smoke_detector, charlie, vendor_viewer
):
    for outsider in (charlie, vendor_viewer):
        with pytest.raises(PermissionDenied):
            services.device_provision(
                vendor=vendor, device_model=smoke_detector, serial="SA-0009", by=outsider
            )
    assert not Device.objects.exists()


# Claiming -----------------------------------------------------------------------------------


def _claim(unit, by, device, code):
    return services.device_claim(unit=unit, by=by, serial=device.serial, claim_code=code)


def test_a_shipped_device_is_claimed_by_serial_and_code(shipped, alice_unit, bob):
    device, _token = shipped

    claimed = _claim(alice_unit, bob, device, f" {device.claim_code.lower()} ")

    assert (claimed.state, claimed.unit) == (State.CLAIMED, alice_unit)
    last = claimed.transitions.last()
    assert (last.from_state, last.to_state, last.by) == ("shipped", "claimed", bob)


def test_wrong_codes_are_counted_and_lock_the_device_for_fifteen_minutes(
    shipped, alice_unit, alice
):
    device, _token = shipped
    start = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for attempt in range(1, 6):
            with pytest.raises(ValidationError) as error:
                _claim(alice_unit, alice, device, "WRONG234")
            assert error.value.message_dict["claim_code"] == [
                "The claim code does not match this device."
            ]
            device.refresh_from_db()
            assert device.claim_failures == attempt
        assert device.claim_locked_until == start + timedelta(minutes=15)

        # Locked: even the right code is refused, and says until when.
        clock.shift(timedelta(minutes=14, seconds=59))
        with pytest.raises(ValidationError) as error:
            _claim(alice_unit, alice, device, device.claim_code)
        assert "Too many wrong codes; try again after 10:15." in error.value.messages
        assert Device.objects.get(pk=device.pk).state == State.SHIPPED

        clock.shift(timedelta(seconds=2))
        claimed = _claim(alice_unit, alice, device, device.claim_code)

    assert claimed.state == State.CLAIMED
    assert (claimed.claim_failures, claimed.claim_locked_until) == (0, None)


def test_an_already_claimed_device_cannot_be_claimed_again(
    shipped, alice_unit, alice, charlie_unit, charlie
):
    device, _token = shipped
    _claim(alice_unit, alice, device, device.claim_code)

    with pytest.raises(ValidationError) as error:
        _claim(charlie_unit, charlie, device, device.claim_code)
    assert error.value.message_dict == {
        "serial": ["This device is already claimed by another unit."]
    }
    with pytest.raises(ValidationError) as error:
        _claim(alice_unit, alice, device, device.claim_code)
    assert error.value.message_dict == {
        "serial": ["This device cannot be claimed while it is Claimed."]
    }
    assert Device.objects.get(pk=device.pk).unit == alice_unit


def test_a_device_not_yet_shipped_or_unknown_cannot_be_claimed(provisioned, alice_unit, alice):
    device, _token = provisioned

    with pytest.raises(ValidationError) as error:
        _claim(alice_unit, alice, device, device.claim_code)
    assert error.value.message_dict == {
        "serial": ["This device cannot be claimed while it is In stock."]
    }
    with pytest.raises(ValidationError) as error:
        services.device_claim(unit=alice_unit, by=alice, serial="NOPE-1", claim_code="ABCDEFGH")
    assert field_errors(error) == ["serial"]
    device.refresh_from_db()
    assert (device.state, device.unit) == (State.IN_STOCK, None)


def test_a_device_shipped_to_another_unit_cannot_be_claimed(
    shipped_to_alice, charlie_unit, charlie
):
    (device, _token), _other = shipped_to_alice

    with pytest.raises(ValidationError) as error:
        _claim(charlie_unit, charlie, device, device.claim_code)

    assert field_errors(error) == ["serial"]
    assert Device.objects.get(pk=device.pk).unit is None


def test_the_same_serial_at_two_vendors_claims_the_one_whose_code_matches(
    shipped, alice_unit, alice, other_vendor, wendy, wendys_model
):
    mine, _token = shipped
    theirs, _token = services.device_provision(
        vendor=other_vendor, device_model=wendys_model, serial=mine.serial, by=wendy
    )
    Device.objects.filter(pk=theirs.pk).update(state=State.SHIPPED)

    claimed = _claim(alice_unit, alice, theirs, theirs.claim_code)

    assert claimed.pk == theirs.pk and claimed.unit == alice_unit
    assert Device.objects.get(pk=mine.pk).state == State.SHIPPED


def test_a_viewer_cannot_claim(shipped, alice_unit, vera):
    device, _token = shipped
    with pytest.raises(PermissionDenied):
        _claim(alice_unit, vera, device, device.claim_code)
    assert Device.objects.get(pk=device.pk).state == State.SHIPPED


# Placement ----------------------------------------------------------------------------------


def _place(device, by, space_type, **fields):
    return services.device_place(
        device=device,
        by=by,
        building=fields.get("building", "3号楼"),
        floor=fields.get("floor", 5),
        space_type=space_type,
        description=fields.get("description", "电梯厅"),
    )


def test_in_an_estate_only_common_spaces_are_allowed(shipped, estate, alice):
    device, _token = shipped
    device = _claim(estate, alice, device, device.claim_code)

    for private in ("inside_home", "kitchen", "shop_floor", "office"):
        with pytest.raises(ValidationError) as error:
            _place(device, alice, private)
        assert field_errors(error) == ["space_type"], private
    assert not Placement.objects.exists()

    for common in sorted(Placement.RESIDENTIAL_COMMON):
        placement = _place(device, alice, common)
        assert placement.space_type == common
    assert Placement.objects.filter(device=device).count() == 1


def test_inside_a_home_is_refused_everywhere_and_by_the_database(placed, alice):
    device, _token = placed

    with pytest.raises(ValidationError) as error:
        _place(device, alice, "inside_home")
    assert field_errors(error) == ["space_type"]
    assert Placement.objects.get(device=device).space_type == "shop_floor"

    with pytest.raises(IntegrityError), transaction.atomic():
        Placement.objects.filter(device=device).update(space_type="inside_home")
    assert Placement.objects.get(device=device).space_type == "shop_floor"


def test_a_placement_names_its_building_and_a_device_must_be_claimed_first(
    shipped, alice_unit, alice
):
    device, _token = shipped
    with pytest.raises(ValidationError):
        _place(device, alice, "corridor")

    device = _claim(alice_unit, alice, device, device.claim_code)
    with pytest.raises(ValidationError) as error:
        _place(device, alice, "corridor", building=" ", description="")
    assert sorted(field_errors(error)) == ["building", "description"]
    assert not Placement.objects.exists()


# Allocation and shipping --------------------------------------------------------------------


@pytest.fixture
def stock(vendor, smoke_detector, gateway_model, vince):
    """Three detectors and a gateway in vince's stock: serial → device."""
    devices = [
        services.device_provision(vendor=vendor, device_model=model, serial=serial, by=vince)[0]
        for model, serial in [
            (smoke_detector, "SA-2001"),
            (smoke_detector, "SA-2002"),
            (smoke_detector, "SA-2003"),
            (gateway_model, "SA-G-01"),
        ]
    ]
    return {device.serial: device for device in devices}


def _allocate(order, by, *serials):
    return services.devices_allocate(order=order, by=by, serials=list(serials))


def test_only_a_paid_order_gets_devices(purchase, stock, vince):
    assert purchase.status == Order.Status.AWAITING_PAYMENT

    with pytest.raises(ValidationError) as error:
        _allocate(purchase, vince, "SA-2001")

    assert error.value.messages == ["Devices are allocated to paid orders being prepared."]
    assert not Device.objects.exclude(state=State.IN_STOCK).exists()


@pytest.mark.parametrize(
    "serials, message",
    [
        (["SA-2001", "SA-9999"], "Not in your inventory: SA-9999"),
        (["SA-2001", "PJ-0001"], "Not in your inventory: PJ-0001"),
        (["SA-2001", "SA-G-01"], "SA-G-01: the order needs no more 消防物联网关."),
        (["SA-2001", "SA-2002", "SA-2003"], "SA-2003: the order needs no more NB-IoT 独立式烟感."),
        ([" ", ""], "Enter at least one serial number."),
    ],
    ids=["unknown", "other-vendor", "other-model", "too-many", "empty"],
)
def test_a_bad_serial_allocates_nothing(
    paid_purchase, stock, vince, other_vendor, wendy, wendys_model, serials, message
):
    services.device_provision(
        vendor=other_vendor, device_model=wendys_model, serial="PJ-0001", by=wendy
    )

    with pytest.raises(ValidationError) as error:
        _allocate(paid_purchase, vince, *serials)

    assert error.value.message_dict == {"serials": [message]}
    assert not Device.objects.exclude(state=State.IN_STOCK).exists()
    assert services.order_unallocated(paid_purchase) == 2


def test_serials_of_the_ordered_model_are_allocated_up_to_each_lines_quantity(
    paid_purchase, stock, vince
):
    line = paid_purchase.lines.get()
    assert line.quantity == 2

    allocated = _allocate(paid_purchase, vince, "SA-2001")
    assert [device.state for device in allocated] == [State.ALLOCATED]
    assert services.order_unallocated(paid_purchase) == 1

    with pytest.raises(ValidationError) as error:
        _allocate(paid_purchase, vince, "SA-2001")
    assert error.value.message_dict == {"serials": ["Not in stock: SA-2001"]}

    _allocate(paid_purchase, vince, "SA-2002")
    assert services.order_unallocated(paid_purchase) == 0
    assert set(line.devices.values_list("serial", flat=True)) == {"SA-2001", "SA-2002"}
    transition = stock["SA-2002"].transitions.last()
    assert (transition.from_state, transition.to_state) == ("in_stock", "allocated")
    assert (transition.reason, transition.by) == (paid_purchase.number, vince)
    with pytest.raises(ValidationError):
        _allocate(paid_purchase, vince, "SA-2003")


def test_only_the_vendors_members_allocate(paid_purchase, stock, alice, vendor_viewer):
    for outsider in (alice, vendor_viewer):
        with pytest.raises(PermissionDenied):
            _allocate(paid_purchase, outsider, "SA-2001")
    assert stock["SA-2001"].transitions.count() == 1


def test_an_order_ships_only_when_fully_allocated_with_its_devices(paid_purchase, stock, vince):
    _allocate(paid_purchase, vince, "SA-2001")

    with pytest.raises(ValidationError) as error:
        services.order_ship(order=paid_purchase, by=vince, carrier="顺丰", tracking_number="SF1")
    assert error.value.message_dict == {"serials": ["Allocate 1 more devices before shipping."]}
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == Order.Status.PAID

    _allocate(paid_purchase, vince, "SA-2002")
    order = services.order_ship(
        order=paid_purchase, by=vince, carrier="顺丰", tracking_number="SF1"
    )

    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "顺丰", "SF1")
    for serial in ("SA-2001", "SA-2002"):
        device = Device.objects.get(serial=serial)
        assert device.state == State.SHIPPED
        assert states(device) == [
            ("", "in_stock"),
            ("in_stock", "allocated"),
            ("allocated", "shipped"),
        ]
        assert device.transitions.last().reason == "顺丰 SF1"
    assert Device.objects.get(serial="SA-2003").state == State.IN_STOCK


def test_a_shipment_needs_a_carrier_and_a_tracking_number(paid_purchase, stock, vince):
    _allocate(paid_purchase, vince, "SA-2001", "SA-2002")

    with pytest.raises(ValidationError) as error:
        services.order_ship(order=paid_purchase, by=vince, carrier=" ", tracking_number="")

    assert sorted(field_errors(error)) == ["carrier", "tracking_number"]
    assert Device.objects.filter(state=State.SHIPPED).count() == 0


# Activation, retirement, returns ------------------------------------------------------------


def test_the_first_report_after_placement_activates_a_claimed_device(
    client, shipped, alice_unit, alice
):
    device, token = shipped
    device = _claim(alice_unit, alice, device, device.claim_code)

    assert report(client, token).status_code == 202
    device.refresh_from_db()
    assert device.state == State.CLAIMED  # not placed yet: it reports, but is not active
    assert device.last_seen_at is not None

    _place(device, alice, "shop_floor")
    assert report(client, token, "reading", {"smoke": 0.02}).status_code == 202

    device.refresh_from_db()
    assert device.state == State.ACTIVE
    assert states(device)[-1] == ("claimed", "active")
    assert device.transitions.last().reason == "first report after placement"


def test_a_retired_device_is_logged_out(client, placed, alice, bob, vera, vince):
    device, token = placed
    assert report(client, token).status_code == 202
    for not_a_manager in (bob, vera):
        with pytest.raises(PermissionDenied):
            services.device_retire(device=device, by=not_a_manager, reason="损坏")
    with pytest.raises(ValidationError) as error:
        services.device_retire(device=device, by=alice, reason=" ")
    assert field_errors(error) == ["reason"]

    retired = services.device_retire(device=device, by=alice, reason="外壳损坏")

    assert retired.state == State.RETIRED
    assert (retired.token_hash, retired.token_prefix) == (None, "")
    last = retired.transitions.last()
    assert (last.from_state, last.to_state, last.by, last.reason) == (
        "active",
        "retired",
        alice,
        "外壳损坏",
    )
    answer = report(client, token)
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
    with pytest.raises(ValidationError):
        services.device_retire(device=retired, by=alice, reason="again")
    with pytest.raises(ValidationError):
        services.device_restock(device=retired, by=vince)


def test_a_returned_device_is_unbound_and_restocked_with_new_credentials(
    client, placed, alice, vince, purchase
):
    device, token = placed
    old_code = device.claim_code
    with pytest.raises(ValidationError):
        services.device_return(device=device, by=vince)  # a bought device stays with its unit
    lease = Lease.objects.create(
        order=purchase,
        unit=device.unit,
        vendor=device.vendor,
        status=Lease.Status.ENDING,
        term_months=12,
        monthly_fee=8 * YUAN,
        deposit=50 * YUAN,
    )
    Device.objects.filter(pk=device.pk).update(lease=lease)
    device.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.device_return(device=device, by=alice)  # the vendor receives it

    returned = services.device_return(device=device, by=vince)

    assert returned.state == State.RETURNED
    assert (returned.unit, returned.order_line, returned.token_hash) == (None, None, None)
    assert not Placement.objects.filter(device=device).exists()
    assert report(client, token).status_code == 401
    with pytest.raises(ValidationError):
        services.device_token_rotate(device=returned, by=vince)

    restocked, new_token = services.device_restock(device=returned, by=vince)

    assert restocked.state == State.IN_STOCK
    assert restocked.claim_code != old_code and len(restocked.claim_code) == 8
    assert new_token != token and restocked.token_hash == token_hash(new_token)
    assert report(client, token).status_code == 401
    assert report(client, new_token).status_code == 202
    assert states(restocked)[-3:] == [
        ("shipped", "claimed"),
        ("claimed", "returned"),
        ("returned", "in_stock"),
    ]


def test_every_state_change_of_a_devices_life_is_recorded(
    client, shipped_to_alice, alice_unit, alice, vince
):
    (device, token), _other = shipped_to_alice
    device = _claim(alice_unit, alice, device, device.claim_code)
    _place(device, alice, "shop_floor")
    report(client, token)
    services.device_retire(device=Device.objects.get(pk=device.pk), by=vince, reason="召回")

    assert states(device) == [
        ("", "in_stock"),
        ("in_stock", "allocated"),
        ("allocated", "shipped"),
        ("shipped", "claimed"),
        ("claimed", "active"),
        ("active", "retired"),
    ]
    by = list(device.transitions.values_list("by", flat=True))
    assert by == [vince.pk, vince.pk, vince.pk, alice.pk, None, vince.pk]
    assert DeviceTransition.objects.filter(device=device).count() == 6
