"""The vendor's device API: stock with filters, provisioning one device (its token once), CSV
imports (202, then progress and refused rows), credentials, returns and restocking, an
order's allocation and shipment, and the fleet without placements. Another vendor and unit
members get 404, viewers 403, bad input 400 by field; lists take constant queries."""
# ruff: noqa: F811  (fixtures imported from the page tests are redefined as test parameters)

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Order
from devices import imports
from devices.ingest import token_hash
from devices.models import Device, InventoryImport
from tests.billing.conftest import lease_order  # noqa: F401  (a fixture, used below)
from tests.devices.test_vendor_views import (  # noqa: F401  (fixtures, used below)
    heat_detector,
    provision,
    returning_lease,
    stock,
    wendys_device,
    with_unit,
)

pytestmark = pytest.mark.django_db
State = Device.State
API = "/api/v1/vendor"


def query_count(client, address) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(address).status_code == 200
    return len(context)


def serials(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [device["serial"] for device in response.json()["results"]]


# Stock ---------------------------------------------------------------------------------------


def test_the_stock_lists_by_serial_with_filters(api_client_for, vince, stock, heat_detector):
    client = api_client_for(vince)

    response = client.get(f"{API}/devices/")
    assert serials(response) == ["SA-0101", "SA-0102", "SA-0103", "SA-0104", "SA-0201"]
    first = response.json()["results"][0]
    assert first["claim_code"] == stock[0].claim_code
    assert first["device_model"]["model_number"] == "SA-S100" and first["unit"] is None
    assert "token_hash" not in first and "token" not in first

    assert serials(client.get(f"{API}/devices/", {"state": "allocated"})) == ["SA-0104"]
    assert serials(client.get(f"{API}/devices/", {"model": "SA-H200"})) == ["SA-0201"]
    assert serials(client.get(f"{API}/devices/", {"serial": "0102"})) == ["SA-0102"]
    paged = client.get(f"{API}/devices/", {"page_size": 2}).json()
    assert [d["serial"] for d in paged["results"]] == ["SA-0101", "SA-0102"]
    assert serials(client.get(paged["next"])) == ["SA-0103", "SA-0104"]
    bad = client.get(f"{API}/devices/", {"state": "lost"})
    assert bad.status_code == 400 and "state" in bad.json()


def test_the_stock_takes_the_same_queries_for_1_and_5_devices(
    api_client_for, vince, vendor, smoke_detector, django_assert_max_num_queries
):
    client = api_client_for(vince)
    provision(vendor, smoke_detector, vince, "Q-0")
    one = query_count(client, f"{API}/devices/")
    for n in range(1, 5):
        provision(vendor, smoke_detector, vince, f"Q-{n}")

    with django_assert_max_num_queries(one):
        assert len(serials(client.get(f"{API}/devices/"))) == 5


def test_provisioning_one_device_answers_its_token_once(
    api_client_for,
    vince,
    vendor_viewer,
    smoke_detector,
    stock,
):
    client = api_client_for(vince)

    response = client.post(
        f"{API}/devices/", {"serial": "SA-0900", "model_number": "SA-S100"}, format="json"
    )

    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    body = response.json()
    device = Device.objects.get(serial="SA-0900")
    assert token_hash(body["token"]) == device.token_hash
    assert body["device"]["id"] == str(device.public_id)
    assert body["device"]["transitions"][0]["to_state"] == "in_stock"
    detail = client.get(f"{API}/devices/{device.public_id}/").json()
    assert "token" not in detail and detail["token_prefix"] == body["token"][:10]

    unknown = client.post(f"{API}/devices/", {"serial": "X", "model_number": "PJ-1"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json() == {"model_number": ["Choose one of your device models."]}
    taken = client.post(
        f"{API}/devices/", {"serial": "SA-0101", "model_number": "SA-S100"}, format="json"
    )
    assert taken.json() == {"serial": ["You already have a device with this serial number."]}
    viewer = api_client_for(vendor_viewer).post(
        f"{API}/devices/", {"serial": "V-1", "model_number": "SA-S100"}, format="json"
    )
    assert viewer.status_code == 403
    assert not Device.objects.filter(serial__in=["X", "V-1"]).exists()


def test_another_vendor_and_unit_members_see_none_of_it(
    api_client_for,
    wendy,
    other_vendor,
    alice,
    alice_unit,
    vince,
    stock,
    paid_purchase,
):
    device = stock[0]
    inventory_import = imports.inventory_import_create(
        vendor=device.vendor, by=vince, name="x.csv", content=b"X-1,SA-S100\n"
    )
    wendy_client, alice_client = api_client_for(wendy), api_client_for(alice)

    assert serials(wendy_client.get(f"{API}/devices/")) == []
    assert serials(wendy_client.get(f"{API}/fleet/")) == []
    for client in (wendy_client, alice_client):
        assert client.get(f"{API}/devices/{device.public_id}/").status_code == 404
        for action in ("token", "returned", "restock"):
            response = client.post(f"{API}/devices/{device.public_id}/{action}/")
            assert response.status_code == 404, action
        assert client.get(f"{API}/imports/{inventory_import.public_id}/").status_code == 404
        order = f"{API}/orders/{paid_purchase.public_id}"
        assert client.get(f"{order}/devices/").status_code == 404
        allocate = client.post(f"{order}/devices/", {"serials": ["SA-0101"]}, format="json")
        assert allocate.status_code == 404
        ship = {"carrier": "顺丰", "tracking_number": "SF1"}
        assert client.post(f"{order}/shipment/", ship, format="json").status_code == 404
    # alice works for no vendor: the vendor lists are not there for her.
    for path in ("devices/", "imports/", "fleet/", "fleet/summary/"):
        assert alice_client.get(f"{API}/{path}").status_code == 404, path
    device.refresh_from_db()
    assert device.state == State.IN_STOCK and device.order_line is None


# Imports -------------------------------------------------------------------------------------


def test_an_uploaded_csv_is_accepted_then_reports_its_progress_and_refusals(
    api_client_for, vince, vendor_viewer, smoke_detector
):
    client = api_client_for(vince)
    csv_file = SimpleUploadedFile(
        "stock.csv", b"serial,model_number,firmware\nA-1,SA-S100,1.0\nA-1,SA-S100,1.0\nA-2,NOPE\n"
    )

    response = client.post(f"{API}/imports/", {"file": csv_file}, format="multipart")

    assert response.status_code == 202, response.content
    queued = response.json()
    assert (queued["status"], queued["total_rows"], queued["processed_rows"]) == ("queued", 3, 0)
    imports.inventory_import_run(inventory_import_id=InventoryImport.objects.get().pk)

    done = client.get(f"{API}/imports/{queued['id']}/").json()
    assert (done["status"], done["processed_rows"], done["created_count"]) == ("done", 3, 1)
    assert done["error_count"] == 2 and done["errors_not_listed"] == 0
    assert done["errors"] == [
        {
            "row": 3,
            "serial": "A-1",
            "code": "duplicate_in_file",
            "message": "The same serial number is on row 2.",
        },
        {
            "row": 4,
            "serial": "A-2",
            "code": "model_unknown",
            "message": "NOPE is not one of your device models.",
        },
    ]
    listed = client.get(f"{API}/imports/").json()["results"]
    assert [(i["id"], i["created_count"]) for i in listed] == [(queued["id"], 1)]
    assert serials(client.get(f"{API}/devices/", {"import": queued["id"]})) == ["A-1"]

    not_csv = SimpleUploadedFile("x.xlsx", b"PK\x03\x04\x00\x00")
    refused = client.post(f"{API}/imports/", {"file": not_csv}, format="multipart")
    assert refused.status_code == 400
    assert refused.json() == {"file": ["This is not a CSV file (save the sheet as CSV)."]}
    assert client.post(f"{API}/imports/", {}, format="multipart").status_code == 400
    viewer_file = SimpleUploadedFile("v.csv", b"V-1,SA-S100\n")
    viewer = api_client_for(vendor_viewer)
    assert (
        viewer.post(f"{API}/imports/", {"file": viewer_file}, format="multipart").status_code == 403
    )
    assert InventoryImport.objects.count() == 1


# Credentials, returns, restocking ------------------------------------------------------------


def test_a_token_is_rotated_by_owners_and_managers_only(
    api_client_for,
    vince,
    vendor_staff,
    stock,
):
    device = stock[0]
    response = api_client_for(vince).post(f"{API}/devices/{device.public_id}/token/")

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    device.refresh_from_db()
    assert token_hash(response.json()["token"]) == device.token_hash
    staff = api_client_for(vendor_staff).post(f"{API}/devices/{device.public_id}/token/")
    assert staff.status_code == 403


def test_a_leased_device_comes_back_and_is_restocked_with_new_credentials(
    api_client_for,
    vince,
    returning_lease,
):
    client = api_client_for(vince)
    device = Device.objects.get(serial="SA-0101")
    before = client.get(f"{API}/devices/{device.public_id}/").json()
    assert before["unit"] == {"name": "Alice's shop", "district": "黄浦区"}
    assert before["lease_status"] == "ending" and before["order"]["number"]

    returned = client.post(f"{API}/devices/{device.public_id}/returned/")

    assert returned.status_code == 200
    body = returned.json()
    assert (body["state"], body["unit"], body["token_prefix"], body["order"]) == (
        "returned",
        None,
        "",
        None,
    )
    again = client.post(f"{API}/devices/{device.public_id}/returned/")
    assert again.status_code == 400

    restocked = client.post(f"{API}/devices/{device.public_id}/restock/")

    assert restocked.status_code == 200 and restocked["Cache-Control"] == "no-store"
    device.refresh_from_db()
    assert restocked.json()["device"]["state"] == "in_stock"
    assert restocked.json()["device"]["claim_code"] == device.claim_code
    assert token_hash(restocked.json()["token"]) == device.token_hash


# Fulfilment ----------------------------------------------------------------------------------


def test_an_order_is_allocated_by_serial_and_ships_once_complete(
    api_client_for,
    vince,
    paid_purchase,
    stock,
    wendys_device,
):
    client = api_client_for(vince)
    order = f"{API}/orders/{paid_purchase.public_id}"
    allocation = client.get(f"{order}/devices/").json()
    assert (allocation["number"], allocation["status"], allocation["missing"]) == (
        paid_purchase.number,
        "paid",
        2,
    )
    assert [
        (line["model_number"], line["quantity"], line["devices"]) for line in allocation["lines"]
    ] == [("SA-S100", 2, [])]

    def allocate(*serials):
        return client.post(f"{order}/devices/", {"serials": list(serials)}, format="json")

    for serials_, message in [
        (["PJ-0001"], "Not in your inventory: PJ-0001"),
        (["NOPE-1"], "Not in your inventory: NOPE-1"),
        (["SA-0104"], "Not in stock: SA-0104"),
        (["SA-0101", "SA-0102", "SA-0103"], "SA-0103: the order needs no more"),
    ]:
        response = allocate(*serials_)
        assert response.status_code == 400, serials_
        assert message in response.json()["serials"][0], serials_
    assert allocate().status_code == 400
    ship = {"carrier": "顺丰", "tracking_number": "SF77"}
    early = client.post(f"{order}/shipment/", ship, format="json")
    assert early.status_code == 400
    assert early.json() == {"serials": ["Allocate 2 more devices before shipping."]}

    allocated = allocate("SA-0101", "SA-0102")
    assert allocated.status_code == 200 and allocated.json()["missing"] == 0
    assert [d["serial"] for d in allocated.json()["lines"][0]["devices"]] == ["SA-0101", "SA-0102"]
    assert client.post(f"{order}/shipment/", {"carrier": ""}, format="json").status_code == 400

    shipped = client.post(f"{order}/shipment/", ship, format="json")

    assert shipped.status_code == 200
    assert (shipped.json()["status"], shipped.json()["tracking_number"]) == ("shipped", "SF77")
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == Order.Status.SHIPPED
    states = {d["state"] for d in shipped.json()["lines"][0]["devices"]}
    assert states == {"shipped"}


# Fleet ---------------------------------------------------------------------------------------


def test_the_fleet_shows_health_unit_and_district_but_no_placement(
    api_client_for,
    vince,
    vendor,
    smoke_detector,
    heat_detector,
    placed,
    alice_unit,
    alice,
):
    device, _token = placed
    now = timezone.now()
    Device.objects.filter(pk=device.pk).update(
        state=State.ACTIVE, battery_pct=12, signal_dbm=-90, last_seen_at=now
    )
    with_unit(vendor, heat_detector, vince, alice_unit, alice, "SA-0301", state=State.OFFLINE)
    client = api_client_for(vince)

    response = client.get(f"{API}/fleet/")

    assert serials(response) == ["SA-0001", "SA-0301"]
    raw = response.content.decode()
    assert "收银台上方" not in raw and "placement" not in raw and "主楼" not in raw
    first = response.json()["results"][0]
    assert first["unit"] == {"name": "Alice's shop", "district": "黄浦区"}
    assert (first["battery_pct"], first["signal_dbm"], first["state"]) == (12, -90, "active")
    assert serials(client.get(f"{API}/fleet/", {"low_battery": "true"})) == ["SA-0001"]
    assert serials(client.get(f"{API}/fleet/", {"stale": "true"})) == ["SA-0301"]
    assert serials(client.get(f"{API}/fleet/", {"model": "SA-H200"})) == ["SA-0301"]
    assert serials(client.get(f"{API}/fleet/", {"state": "active"})) == ["SA-0001"]
    summary = client.get(f"{API}/fleet/summary/").json()
    assert summary == {
        "total": 2,
        "online": 1,
        "offline": 1,
        "faulty": 0,
        "reporting": 2,
        "low_battery": 1,
        "stale": 1,
        "online_rate": 50.0,
    }
    detail = json.dumps(client.get(f"{API}/devices/{device.public_id}/").json())
    assert "收银台上方" not in detail and "placement" not in detail


def test_the_fleet_takes_the_same_queries_for_1_and_5_devices(
    api_client_for, vince, vendor, smoke_detector, alice_unit, alice, django_assert_max_num_queries
):
    client = api_client_for(vince)
    with_unit(vendor, smoke_detector, vince, alice_unit, alice, "F-0")
    one = query_count(client, f"{API}/fleet/")
    for n in range(1, 5):
        with_unit(vendor, smoke_detector, vince, alice_unit, alice, f"F-{n}")

    with django_assert_max_num_queries(one):
        assert len(serials(client.get(f"{API}/fleet/"))) == 5
