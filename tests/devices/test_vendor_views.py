"""The vendor's device pages: stock with counts and filters, one device by hand (token shown
once), CSV imports with their progress and report, label sheets, a device's page with token
rotation, fulfilment of a paid order (allocation rules, no shipping before every device is
allocated), lease returns and restocking, and the fleet's health without placements. Another
vendor and unit members get 404; viewers 403; lists take constant queries."""

import html
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Lease, Order
from devices import imports, labels, services
from devices.ingest import token_hash
from devices.models import Device, InventoryImport
from marketplace import services as marketplace_services
from marketplace.models import DeviceModel
from tests.billing.conftest import lease_order, order_paid  # noqa: F401  (a fixture, used below)
from tests.devices.test_labels import image_count, pdf_text

pytestmark = pytest.mark.django_db
State = Device.State


def url(name, *args):
    return reverse(f"devices:{name}", args=args)


def text(response) -> str:
    return html.unescape(response.content.decode())


def query_count(client, address) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(address).status_code == 200
    return len(context)


def provision(vendor, device_model, by, serial, *, state=None) -> Device:
    device, _token = services.device_provision(
        vendor=vendor, device_model=device_model, serial=serial, by=by
    )
    if state:  # test setup: a device further along its life
        Device.objects.filter(pk=device.pk).update(state=state)
        device.refresh_from_db()
    return device


@pytest.fixture
def heat_detector(vendor, vince, fire):
    return marketplace_services.device_model_save(
        vendor=vendor,
        by=vince,
        scenarios=[fire],
        name="感温探测器",
        model_number="SA-H200",
        category=DeviceModel.Category.HEAT_DETECTOR,
        metrics=[],
        heartbeat_interval_s=3600,
        heartbeat_grace_s=600,
        protocol=DeviceModel.Protocol.HTTP,
        unit_cost=8000,
    )


@pytest.fixture
def wendys_device(other_vendor, wendy, fire):
    device_model = marketplace_services.device_model_save(
        vendor=other_vendor,
        by=wendy,
        scenarios=[fire],
        name="浦江烟感",
        model_number="PJ-1",
        category=DeviceModel.Category.SMOKE_DETECTOR,
        metrics=[],
        heartbeat_interval_s=3600,
        heartbeat_grace_s=600,
        protocol=DeviceModel.Protocol.HTTP,
        unit_cost=5000,
    )
    return provision(other_vendor, device_model, wendy, "PJ-0001")


@pytest.fixture
def stock(vendor, smoke_detector, heat_detector, vince):
    """Three smoke detectors and a heat detector in stock, a smoke detector allocated."""
    return [
        provision(vendor, smoke_detector, vince, "SA-0101"),
        provision(vendor, smoke_detector, vince, "SA-0102"),
        provision(vendor, smoke_detector, vince, "SA-0103"),
        provision(vendor, heat_detector, vince, "SA-0201"),
        provision(vendor, smoke_detector, vince, "SA-0104", state=State.ALLOCATED),
    ]


# Stock -------------------------------------------------------------------------------------------


def test_the_stock_page_counts_per_state_and_filters(client_for, vince, stock, heat_detector):
    client = client_for(vince)

    page = client.get(url("inventory"))
    assert page.status_code == 200
    assert [d.serial for d in page.context["devices"]] == [
        "SA-0101",
        "SA-0102",
        "SA-0103",
        "SA-0104",
        "SA-0201",
    ]
    counts = {row["state"]: row["count"] for row in page.context["counts"]}
    assert (counts["in_stock"], counts["allocated"], counts["shipped"]) == (4, 1, 0)
    assert stock[0].claim_code in text(page)

    allocated = client.get(url("inventory"), {"state": "allocated"})
    assert [d.serial for d in allocated.context["devices"]] == ["SA-0104"]
    # The counts stay those of every state, so that each can be picked.
    assert {r["state"]: r["count"] for r in allocated.context["counts"]}["in_stock"] == 4
    heat = client.get(url("inventory"), {"model": str(heat_detector.public_id)})
    assert [d.serial for d in heat.context["devices"]] == ["SA-0201"]
    searched = client.get(url("inventory"), {"q": "0102"})
    assert [d.serial for d in searched.context["devices"]] == ["SA-0102"]
    bad = client.get(url("inventory"), {"state": "lost"})
    assert "State: Select a valid choice." in text(bad)

    partial = client.get(url("inventory"), {"q": "0102"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert "<html" not in text(partial) and 'id="results"' in text(partial)


def test_the_stock_page_takes_the_same_queries_for_1_and_5_devices(
    client_for, vince, vendor, smoke_detector, django_assert_max_num_queries
):
    client = client_for(vince)
    provision(vendor, smoke_detector, vince, "Q-0")
    one = query_count(client, url("inventory"))
    for n in range(1, 5):
        provision(vendor, smoke_detector, vince, f"Q-{n}")

    with django_assert_max_num_queries(one):
        response = client.get(url("inventory"))
    assert len(response.context["devices"]) == 5


def test_people_of_another_vendor_or_of_a_unit_see_nothing_of_the_stock(
    client_for, client, wendy, other_vendor, alice, alice_unit, vince, stock, paid_purchase
):
    device = stock[0]
    inventory_import = imports.inventory_import_create(
        vendor=device.vendor, by=vince, name="x.csv", content=b"X-1,SA-S100\n"
    )
    wendy_client = client_for(wendy)

    assert wendy_client.get(url("inventory")).context["devices"] == []
    for name in ("inventory_device",):
        assert wendy_client.get(url(name, device.public_id)).status_code == 404
    for name in ("inventory_token", "inventory_returned", "inventory_restock"):
        assert wendy_client.post(url(name, device.public_id)).status_code == 404
    assert wendy_client.get(url("import", inventory_import.public_id)).status_code == 404
    order_id = paid_purchase.public_id
    assert wendy_client.get(url("fulfil", order_id)).status_code == 404
    assert (
        wendy_client.post(url("fulfil_allocate", order_id), {"serials": "SA-0101"}).status_code
        == 404
    )
    ship = {"carrier": "顺丰", "tracking_number": "SF1"}
    assert wendy_client.post(url("fulfil_ship", order_id), ship).status_code == 404
    labels_of = wendy_client.get(url("labels"), {"import": str(inventory_import.public_id)})
    assert labels_of.status_code == 404
    assert wendy_client.get(url("labels"), {"order": str(order_id)}).status_code == 404
    ticked = wendy_client.get(url("labels"), {"device": str(device.public_id)})
    assert ticked.status_code == 200 and image_count(ticked.content) == 0

    # A unit's people are not working for a vendor: the vendor pages are not there for them.
    alice_client = client_for(alice)
    for name in ("inventory", "fleet", "returns", "import_create", "labels", "provision"):
        assert alice_client.get(url(name)).status_code == 404, name
    assert alice_client.get(url("inventory_device", device.public_id)).status_code == 404
    assert alice_client.get(url("fulfil", order_id)).status_code == 404
    assert client.get(url("inventory")).status_code == 302  # anonymous: to the login page
    assert device.state == State.IN_STOCK and Device.objects.get(pk=device.pk).token_hash


# One device by hand ------------------------------------------------------------------------------


def test_a_device_added_by_hand_shows_its_token_once(
    client_for, vince, vendor_viewer, smoke_detector, stock
):
    client = client_for(vince)
    form = client.get(url("provision"))
    assert form.status_code == 200

    response = client.post(
        url("provision"), {"model": str(smoke_detector.public_id), "serial": "SA-0900"}
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    device = Device.objects.get(serial="SA-0900")
    token = response.context["new_token"]
    assert token_hash(token) == device.token_hash and token in text(response)
    assert token not in text(client.get(url("inventory_device", device.public_id)))

    taken = client.post(
        url("provision"), {"model": str(smoke_detector.public_id), "serial": "SA-0101"}
    )
    assert taken.status_code == 400
    assert "Serial number: You already have a device with this serial number." in text(taken)
    assert client_for(vendor_viewer).get(url("provision")).status_code == 403


# Imports -----------------------------------------------------------------------------------------


def test_an_import_shows_its_progress_then_its_report(client_for, vince, smoke_detector):
    client = client_for(vince)
    csv_file = SimpleUploadedFile(
        "stock.csv", b"serial,model_number\nN-1,SA-S100\nN-2,NOPE\nN-1,SA-S100\n\nN-3,SA-S100\n"
    )
    response = client.post(url("import_create"), {"file": csv_file})
    inventory_import = InventoryImport.objects.get()
    assert response.status_code == 302 and response.url == url("import", inventory_import.public_id)

    # Queued: the page polls every second, as a partial when htmx asks.
    waiting = client.get(response.url)
    assert 'hx-trigger="every 1s"' in text(waiting) and "Waiting" in text(waiting)
    polled = client.get(response.url, HTTP_HX_REQUEST="true")
    assert "<html" not in text(polled)
    assert 'hx-trigger="every 1s"' in text(polled) and "0 of 4 rows checked" in text(polled)

    imports.inventory_import_run(inventory_import_id=inventory_import.pk)

    done = text(client.get(response.url, HTTP_HX_REQUEST="true"))
    assert 'hx-trigger="every 1s"' not in done
    assert "4 of 4 rows checked" in done and "2 devices added" in done and "2 rows refused" in done
    assert "NOPE is not one of your device models." in done
    assert "The same serial number is on row 2." in done
    assert f"?import={inventory_import.public_id}&part=1" in done
    listed = text(client.get(url("import_create")))
    assert "stock.csv" in listed and "2 / 4" in listed


def test_a_bad_file_is_refused_on_the_form_and_viewers_only_look(
    client_for, vince, vendor_viewer, smoke_detector
):
    client = client_for(vince)
    response = client.post(
        url("import_create"), {"file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04\x00\x00")}
    )
    assert response.status_code == 400
    assert "CSV file: This is not a CSV file (save the sheet as CSV)." in text(response)
    assert "CSV file: This field is required." in text(client.post(url("import_create"), {}))

    viewer = client_for(vendor_viewer)
    page = viewer.get(url("import_create"))
    assert page.status_code == 200 and 'id="import-form"' not in text(page)
    upload = {"file": SimpleUploadedFile("a.csv", b"V-1,SA-S100\n")}
    assert viewer.post(url("import_create"), upload).status_code == 403
    assert not InventoryImport.objects.exists()


# Labels ------------------------------------------------------------------------------------------


def serials_in(response) -> set[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    found = pdf_text(response.content)
    return {serial for serial in SERIALS if f"({serial}) Tj" in found}


SERIALS = ["SA-0101", "SA-0102", "SA-0103", "SA-0104", "SA-0201"]


def test_label_sheets_for_ticked_filtered_or_imported_devices(
    client_for, vince, stock, smoke_detector, heat_detector, monkeypatch
):
    client = client_for(vince)
    ticked = client.get(
        url("labels"), {"device": [str(stock[0].public_id), str(stock[3].public_id)]}
    )
    assert serials_in(ticked) == {"SA-0101", "SA-0201"}
    assert serials_in(client.get(url("labels"), {"state": "allocated"})) == {"SA-0104"}
    heat = client.get(url("labels"), {"model": str(heat_detector.public_id)})
    assert serials_in(heat) == {"SA-0201"}
    assert serials_in(client.get(url("labels"))) == set(SERIALS)

    inventory_import = imports.inventory_import_create(
        vendor=stock[0].vendor, by=vince, name="x.csv", content=b"SA-0101,SA-S100\nI-1,SA-S100\n"
    )
    imports.inventory_import_run(inventory_import_id=inventory_import.pk)
    of_import = client.get(url("labels"), {"import": str(inventory_import.public_id)})
    assert "(I-1) Tj" in pdf_text(of_import.content) and serials_in(of_import) == set()

    monkeypatch.setattr(labels, "MAX_LABELS", 2)
    # I-1, SA-0101 | SA-0102, SA-0103 | SA-0104, SA-0201
    assert serials_in(client.get(url("labels"), {"part": "2"})) == {"SA-0102", "SA-0103"}
    page = text(client.get(url("inventory")))
    assert "Labels 5–6" in page and "part=3" in page

    assert client.get(url("labels"), {"device": "not-a-uuid"}).status_code == 400
    assert client.get(url("labels"), {"state": "lost"}).status_code == 400


# One device --------------------------------------------------------------------------------------


def test_the_device_page_shows_its_facts_and_issues_a_token_once(
    client_for, vince, vendor_staff, stock
):
    device = stock[0]
    client = client_for(vince)
    page = text(client.get(url("inventory_device", device.public_id)))
    assert device.claim_code in page and "In stock" in page and device.token_prefix in page

    response = client.post(url("inventory_token", device.public_id))

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = response.context["new_token"]
    device.refresh_from_db()
    assert token_hash(token) == device.token_hash
    partial = client.post(url("inventory_token", device.public_id), HTTP_HX_REQUEST="true")
    assert "<html" not in text(partial) and 'id="new-token"' in text(partial)
    # Staff do the daily work; credentials are for owners and managers.
    assert (
        client_for(vendor_staff).post(url("inventory_token", device.public_id)).status_code == 403
    )


# Fulfilment --------------------------------------------------------------------------------------


def test_allocation_refuses_foreign_unknown_busy_and_surplus_serials(
    client_for, vince, paid_purchase, stock, wendys_device
):
    client = client_for(vince)
    order_id = paid_purchase.public_id
    page = client.get(url("fulfil", order_id))
    assert page.status_code == 200 and "2 devices still to allocate." in text(page)

    def allocate(serials):
        return client.post(url("fulfil_allocate", order_id), {"serials": serials})

    for serials, message in [
        ("PJ-0001", "Serial numbers: Not in your inventory: PJ-0001"),
        ("SA-0101\nNOPE-1", "Serial numbers: Not in your inventory: NOPE-1"),
        ("SA-0104", "Serial numbers: Not in stock: SA-0104"),
        ("SA-0101\nSA-0102\nSA-0103", "Serial numbers: SA-0103: the order needs no more"),
        ("SA-0201", "Serial numbers: SA-0201: the order needs no more"),
        ("  \n ", "Serial numbers: This field is required."),
        (",, \n,", "Serial numbers: Enter at least one serial number."),
    ]:
        response = allocate(serials)
        assert response.status_code == 400, serials
        assert message in text(response), serials
    assert not Device.objects.filter(order_line__order=paid_purchase).exists()
    partial = client.post(
        url("fulfil_allocate", order_id), {"serials": "NOPE"}, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200 and "<html" not in text(partial)


def test_an_order_ships_only_once_every_device_is_allocated(
    client_for, vince, paid_purchase, stock, django_assert_max_num_queries
):
    client = client_for(vince)
    order_id = paid_purchase.public_id
    ship = {"carrier": "顺丰", "tracking_number": "SF1234"}

    early = client.post(url("fulfil_ship", order_id), ship)
    assert early.status_code == 400
    assert "Allocate 2 more devices before shipping." in text(early)

    # One typed, one scanned from its label (the claim address).
    scanned = labels.claim_url(stock[1])
    response = client.post(url("fulfil_allocate", order_id), {"serials": f"SA-0101\n{scanned}"})
    assert response.status_code == 302 and response.url == url("fulfil", order_id)
    page = client.get(url("fulfil", order_id))
    lines = page.context["lines"]
    assert [d.serial for d in lines[0].allocated] == ["SA-0101", "SA-0102"]
    assert "Every device is allocated." in text(page)
    assert 'id="allocate-form"' not in text(page)
    order_labels = client.get(url("labels"), {"order": str(order_id)})
    assert serials_in(order_labels) == {"SA-0101", "SA-0102"}

    assert client.post(url("fulfil_ship", order_id), ship).status_code == 302

    paid_purchase.refresh_from_db()
    assert (paid_purchase.status, paid_purchase.tracking_number) == (Order.Status.SHIPPED, "SF1234")
    shipped = Device.objects.filter(order_line__order=paid_purchase)
    assert set(shipped.values_list("state", flat=True)) == {State.SHIPPED}
    page = text(client.get(url("fulfil", order_id)))
    assert "顺丰 SF1234" in page and 'id="ship-form"' not in page


def test_a_vendor_viewer_sees_the_fulfilment_but_changes_nothing(
    client_for, vendor_viewer, paid_purchase, stock
):
    client = client_for(vendor_viewer)
    order_id = paid_purchase.public_id
    page = text(client.get(url("fulfil", order_id)))
    assert 'id="allocate-form"' not in page and 'id="ship-form"' not in page
    assert client.post(url("fulfil_allocate", order_id), {"serials": "SA-0101"}).status_code == 403
    assert not Device.objects.filter(order_line__order=paid_purchase).exists()


# Returns -----------------------------------------------------------------------------------------


@pytest.fixture
def returning_lease(lease_order, alice, alice_unit, vince, stock):  # noqa: F811
    """alice's leased detectors, delivered and claimed; the lease is ending."""
    order_paid(lease_order, alice)
    services.devices_allocate(order=lease_order, by=vince, serials=["SA-0101", "SA-0102"])
    services.order_ship(order=lease_order, by=vince, carrier="顺丰", tracking_number="SF9")
    for device in Device.objects.filter(order_line__order=lease_order):
        services.device_claim(
            unit=alice_unit, by=alice, serial=device.serial, claim_code=device.claim_code
        )
    lease = lease_order.leases.get()
    Lease.objects.filter(pk=lease.pk).update(status=Lease.Status.ENDING)  # the term is over
    return lease


def test_leased_devices_are_received_back_then_restocked_with_new_credentials(
    client_for, vince, returning_lease
):
    client = client_for(vince)
    page = client.get(url("returns"))
    coming = [row["device"].serial for row in page.context["coming_back"]]
    assert coming == ["SA-0101", "SA-0102"]
    assert "Alice's shop" in text(page) and "黄浦区" in text(page)

    device = Device.objects.get(serial="SA-0101")
    old_code = device.claim_code
    assert 'id="received-back"' in text(client.get(url("inventory_device", device.public_id)))
    response = client.post(url("inventory_returned", device.public_id), {"back": "returns"})
    assert response.status_code == 302 and response.url == url("returns")
    device.refresh_from_db()
    assert (device.state, device.unit, device.lease, device.token_hash) == (
        State.RETURNED,
        None,
        None,
        None,
    )
    page = client.get(url("returns"))
    assert [row["device"].serial for row in page.context["coming_back"]] == ["SA-0102"]
    assert [d.serial for d in page.context["received"]] == ["SA-0101"]

    restocked = client.post(url("inventory_restock", device.public_id))

    assert restocked.status_code == 200 and restocked["Cache-Control"] == "no-store"
    device.refresh_from_db()
    assert device.state == State.IN_STOCK and device.claim_code != old_code
    assert token_hash(restocked.context["new_token"]) == device.token_hash
    again = client.post(url("inventory_restock", device.public_id), follow=True)
    assert "A device that is In stock cannot become In stock." in text(again)


# Fleet -------------------------------------------------------------------------------------------


def with_unit(vendor, device_model, vince, alice_unit, alice, serial, **health) -> Device:
    device = provision(vendor, device_model, vince, serial, state=State.SHIPPED)
    device = services.device_claim(
        unit=alice_unit, by=alice, serial=serial, claim_code=device.claim_code
    )
    if health:  # test setup: what the device last reported
        Device.objects.filter(pk=device.pk).update(**health)
        device.refresh_from_db()
    return device


def test_the_fleet_shows_health_unit_and_district_but_no_placement(
    client_for,
    vince,
    vendor,
    smoke_detector,
    heat_detector,
    placed,
    alice_unit,
    alice,
    wendy,
    other_vendor,
):
    device, _token = placed
    now = timezone.now()
    Device.objects.filter(pk=device.pk).update(
        state=State.ACTIVE,
        battery_pct=15,
        signal_dbm=-97,
        firmware_version="2.1.0",
        last_seen_at=now - timedelta(minutes=5),
    )
    quiet = with_unit(
        vendor,
        heat_detector,
        vince,
        alice_unit,
        alice,
        "SA-0301",
        state=State.OFFLINE,
        battery_pct=80,
        last_seen_at=now - timedelta(days=2),
    )
    provision(vendor, smoke_detector, vince, "SA-0999")  # in stock: not in the fleet
    client = client_for(vince)

    response = client.get(url("fleet"))

    page = text(response)
    assert [row["device"].serial for row in response.context["rows"]] == ["SA-0001", "SA-0301"]
    assert "Alice's shop" in page and "黄浦区" in page
    assert "15%" in page and "-97 dBm" in page and "2.1.0" in page
    # Where it is placed is the unit's business.
    assert "收银台上方" not in page and "Shop floor" not in page and "主楼" not in page
    summary = response.context["summary"]
    assert (summary["total"], summary["online"], summary["offline"]) == (2, 1, 1)
    assert (summary["low_battery"], summary["stale"], summary["online_rate"]) == (1, 1, 50.0)

    def fleet(**filters):
        found = client.get(url("fleet"), filters).context["rows"]
        return [row["device"].serial for row in found]

    assert fleet(low_battery="on") == ["SA-0001"]
    assert fleet(stale="on") == ["SA-0301"]
    assert fleet(state="offline") == ["SA-0301"]
    assert fleet(model=str(heat_detector.public_id)) == ["SA-0301"]
    device_page = text(client.get(url("inventory_device", device.public_id)))
    assert "Alice's shop" in device_page and "收银台上方" not in device_page
    # Not leased: nothing to receive back (the page offers it for leases coming back).
    assert 'id="received-back"' not in device_page
    assert quiet.unit == alice_unit
    assert client_for(wendy).get(url("fleet")).context["rows"] == []


def test_the_fleet_takes_the_same_queries_for_1_and_5_devices(
    client_for, vince, vendor, smoke_detector, alice_unit, alice, django_assert_max_num_queries
):
    client = client_for(vince)
    with_unit(vendor, smoke_detector, vince, alice_unit, alice, "F-0", battery_pct=50)
    one = query_count(client, url("fleet"))
    for n in range(1, 5):
        with_unit(vendor, smoke_detector, vince, alice_unit, alice, f"F-{n}", battery_pct=50)

    with django_assert_max_num_queries(one):
        response = client.get(url("fleet"))
    assert len(response.context["rows"]) == 5


def test_returns_and_imports_pages_take_the_same_queries_for_1_and_5_rows(
    client_for, vince, vendor, smoke_detector, django_assert_max_num_queries
):
    client = client_for(vince)

    def returned(serial):
        provision(vendor, smoke_detector, vince, serial, state=State.RETURNED)
        imports.inventory_import_create(
            vendor=vendor, by=vince, name=f"{serial}.csv", content=f"{serial}-X,SA-S100\n".encode()
        )

    returned("R-0")
    one_returns = query_count(client, url("returns"))
    one_imports = query_count(client, url("import_create"))
    for n in range(1, 5):
        returned(f"R-{n}")

    with django_assert_max_num_queries(one_returns):
        assert len(client.get(url("returns")).context["received"]) == 5
    with django_assert_max_num_queries(one_imports):
        assert len(client.get(url("import_create")).context["imports"]) == 5
