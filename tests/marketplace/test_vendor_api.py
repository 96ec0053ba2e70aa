"""The vendor API: prices in fen, the vendor from the asker's membership, viewers 403 on
writes, another vendor 404 on everything of vince's."""

import pytest

from accounts.models import Organisation
from marketplace import services
from marketplace.models import DeviceModel, Solution, SolutionRevision, Vendor
from tests import factories
from tests.marketplace_fixtures import YUAN, revision_fields

Status = SolutionRevision.Status
API = "/api/v1/vendor"


def device_model_payload(fire_code="fire", **overrides):
    payload = {
        "name": "温感探测器",
        "model_number": "SA-H200",
        "category": "heat_detector",
        "scenarios": [fire_code],
        "metrics": [{"name": "temperature", "unit": "°C", "min": -20, "max": 85}],
        "heartbeat_interval_s": 3600,
        "heartbeat_grace_s": 600,
        "battery_life_months": 36,
        "protocol": "mqtt",
        "unit_cost": 4550,
    }
    payload.update(overrides)
    return payload


def solution_payload(smoke_detector, **overrides):
    payload = {
        "scenario": "fire",
        "tier": "low",
        **revision_fields(lease_monthly_fee=None, lease_min_months=None, lease_deposit=None),
        "bom": [
            {
                "device_model": str(smoke_detector.public_id),
                "rule": "per_area",
                "quantity": 1,
                "area_step_m2": 30,
            }
        ],
    }
    payload.update(overrides)
    return payload


def revision_url(solution, number=1, tail=""):
    return f"{API}/solutions/{solution.public_id}/revisions/{number}/{tail}"


# Profile ---------------------------------------------------------------------------------------


def test_profile_get_and_put(api_client_for, vince, vendor):
    client = api_client_for(vince)

    assert client.get(f"{API}/profile/").json()["licence_number"] == "91310101MA1FP0001X"
    response = client.put(
        f"{API}/profile/",
        {
            "licence_number": "91310101MA1FP0001X",
            "contact_name": "Vince Li",
            "contact_phone": "021-60000001",
            "contact_email": "vince@example.cn",
        },
        format="json",
    )

    assert response.status_code == 200
    vendor.refresh_from_db()
    assert vendor.contact_name == "Vince Li"


def test_profile_put_by_staff_is_403(api_client_for, vendor_staff, vendor):
    response = api_client_for(vendor_staff).put(
        f"{API}/profile/",
        {
            "licence_number": "X",
            "contact_name": "S",
            "contact_phone": "021-60000001",
            "contact_email": "s@example.cn",
        },
        format="json",
    )

    assert response.status_code == 403
    vendor.refresh_from_db()
    assert vendor.licence_number == "91310101MA1FP0001X"


def test_several_vendors_require_the_organisation_parameter(api_client_for, vince, vendor):
    second = factories.organisation_for(vince, kind=Organisation.Kind.VENDOR, name="第二家")
    client = api_client_for(vince)

    response = client.get(f"{API}/profile/")
    assert response.status_code == 400 and "organisation" in response.json()

    picked = client.get(f"{API}/profile/?organisation={vendor.organisation.public_id}")
    assert picked.json()["id"] == str(vendor.public_id)
    assert client.get(f"{API}/profile/?organisation={second.public_id}").status_code == 404
    assert client.get(f"{API}/profile/?organisation=nonsense").status_code == 404


def test_unit_users_get_404(api_client_for, alice, alice_org):
    client = api_client_for(alice)
    for url in [f"{API}/profile/", f"{API}/device-models/", f"{API}/solutions/"]:
        assert client.get(url).status_code == 404, url


# Device models ---------------------------------------------------------------------------------


def test_staff_creates_and_patches_a_device_model(api_client_for, vendor_staff, vendor, fire):
    client = api_client_for(vendor_staff)

    created = client.post(f"{API}/device-models/", device_model_payload(), format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["unit_cost"] == 4550 and body["scenarios"] == ["fire"]
    patched = client.patch(f"{API}/device-models/{body['id']}/", {"unit_cost": 5000}, format="json")
    assert patched.status_code == 200
    assert DeviceModel.objects.get(public_id=body["id"]).unit_cost == 5000
    listed = client.get(f"{API}/device-models/").json()["results"]
    assert [row["model_number"] for row in listed] == ["SA-H200"]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"metrics": [{"name": "temperature", "unit": "°C", "min": 90, "max": 10}]}, "metrics"),
        ({"unit_cost": -1}, "unit_cost"),
        ({"heartbeat_interval_s": 5}, "heartbeat_interval_s"),
        ({"scenarios": ["nope"]}, "scenarios"),
    ],
)
def test_bad_device_model_input_names_the_field(
    api_client_for, vince, vendor, fire, overrides, field
):
    response = api_client_for(vince).post(
        f"{API}/device-models/", device_model_payload(**overrides), format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert not DeviceModel.objects.exists()


def test_viewer_cannot_write_device_models(api_client_for, vendor_viewer, smoke_detector):
    client = api_client_for(vendor_viewer)

    assert client.get(f"{API}/device-models/").status_code == 200
    assert (
        client.post(f"{API}/device-models/", device_model_payload(), format="json").status_code
        == 403
    )
    response = client.patch(
        f"{API}/device-models/{smoke_detector.public_id}/", {"unit_cost": 1}, format="json"
    )
    assert response.status_code == 403
    smoke_detector.refresh_from_db()
    assert smoke_detector.unit_cost == 60 * YUAN and DeviceModel.objects.count() == 1


# Solutions -------------------------------------------------------------------------------------


def test_create_solution_and_read_it_back(api_client_for, vince, smoke_detector):
    client = api_client_for(vince)

    response = client.post(f"{API}/solutions/", solution_payload(smoke_detector), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    (revision,) = body["revisions"]
    assert revision["number"] == 1 and revision["status"] == "draft"
    assert revision["purchase_price"] == 180 * YUAN
    assert revision["bom"][0]["device_model"] == str(smoke_detector.public_id)
    assert revision["transitions"][0]["to_status"] == "draft"
    listed = client.get(f"{API}/solutions/").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert client.get(f"{API}/solutions/{body['id']}/").json() == body


@pytest.mark.parametrize(
    "case, field",
    [
        ("negative_quantity", "bom"),
        ("per_area_without_n", "bom"),
        ("other_vendors_model", "bom"),
        ("negative_price", "purchase_price"),
        ("incomplete_lease", "lease_monthly_fee"),
    ],
)
def test_bad_solution_input_names_the_field_and_writes_nothing(
    api_client_for, vince, smoke_detector, wendy, other_vendor, fire, case, field
):
    payload = solution_payload(smoke_detector)
    line = payload["bom"][0]
    if case == "negative_quantity":
        line["quantity"] = -1
    elif case == "per_area_without_n":
        line["area_step_m2"] = None
    elif case == "other_vendors_model":
        theirs = services.device_model_save(
            vendor=other_vendor,
            by=wendy,
            scenarios=[fire],
            name="别家烟感",
            model_number="PJ-1",
            category="smoke_detector",
            heartbeat_interval_s=3600,
            heartbeat_grace_s=600,
            protocol="http",
            unit_cost=1000,
        )
        line["device_model"] = str(theirs.public_id)
    elif case == "negative_price":
        payload["purchase_price"] = -100
    elif case == "incomplete_lease":
        payload["lease_monthly_fee"] = 800

    response = api_client_for(vince).post(f"{API}/solutions/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Solution.objects.exists() and not SolutionRevision.objects.exists()


def test_patch_a_draft_with_its_bom(api_client_for, vendor_staff, draft, smoke_detector):
    response = api_client_for(vendor_staff).patch(
        revision_url(draft.solution),
        {
            "purchase_price": 19999,
            "bom": [
                {"device_model": str(smoke_detector.public_id), "rule": "per_floor", "quantity": 2}
            ],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    draft.refresh_from_db()
    assert draft.purchase_price == 19999
    assert list(draft.bom.values_list("rule", "quantity")) == [("per_floor", 2)]


def test_patch_error_writes_nothing(api_client_for, vince, draft, smoke_detector):
    response = api_client_for(vince).patch(
        revision_url(draft.solution),
        {
            "purchase_price": 1,
            "bom": [
                {"device_model": str(smoke_detector.public_id), "rule": "per_area", "quantity": 1}
            ],
        },
        format="json",
    )

    assert response.status_code == 400 and "bom" in response.json()
    draft.refresh_from_db()
    assert draft.purchase_price == 180 * YUAN
    assert list(draft.bom.values_list("area_step_m2", flat=True)) == [30]


def test_patch_a_certified_revision_is_refused(api_client_for, vince, certified):
    response = api_client_for(vince).patch(
        revision_url(certified.solution), {"purchase_price": 1}, format="json"
    )

    assert response.status_code == 400
    assert "cannot be edited" in str(response.json())
    certified.refresh_from_db()
    assert certified.purchase_price == 180 * YUAN


def test_submit_happy_path(api_client_for, vince, draft, fire_standard):
    response = api_client_for(vince).post(revision_url(draft.solution, tail="submit/"))

    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    assert response.json()["standard_version"] == fire_standard.version
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED


def test_submit_refusals_are_plain(api_client_for, vince, draft, fire_standard):
    client = api_client_for(vince)
    fire_standard.allowed_modes = ["purchase"]
    fire_standard.save(update_fields=["allowed_modes"])

    response = client.post(revision_url(draft.solution, tail="submit/"))

    assert response.status_code == 400
    assert "does not allow leasing" in response.json()["lease_monthly_fee"][0]
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_submit_without_a_standard(api_client_for, vince, draft):
    response = api_client_for(vince).post(revision_url(draft.solution, tail="submit/"))

    assert response.status_code == 400
    assert "no published reference standard" in str(response.json())


def test_viewer_cannot_submit_or_start_revisions(api_client_for, vendor_viewer, certified):
    client = api_client_for(vendor_viewer)
    assert client.get(f"{API}/solutions/{certified.solution.public_id}/").status_code == 200

    response = client.post(f"{API}/solutions/{certified.solution.public_id}/new-revision/")

    assert response.status_code == 403
    assert certified.solution.revisions.count() == 1


def test_new_revision_of_a_certified_solution(api_client_for, vince, certified):
    response = api_client_for(vince).post(
        f"{API}/solutions/{certified.solution.public_id}/new-revision/"
    )

    assert response.status_code == 201
    assert response.json()["number"] == 2 and response.json()["status"] == "draft"
    assert len(response.json()["bom"]) == 1


def test_other_vendor_gets_404_on_everything_of_vinces(
    api_client_for, wendy, other_vendor, draft, smoke_detector
):
    client = api_client_for(wendy)
    solution = draft.solution

    assert client.get(f"{API}/solutions/{solution.public_id}/").status_code == 404
    assert client.get(revision_url(solution)).status_code == 404
    assert client.patch(revision_url(solution), {"name": "x"}, format="json").status_code == 404
    assert client.post(revision_url(solution, tail="submit/")).status_code == 404
    assert client.post(f"{API}/solutions/{solution.public_id}/new-revision/").status_code == 404
    model_url = f"{API}/device-models/{smoke_detector.public_id}/"
    assert client.get(model_url).status_code == 404
    assert client.patch(model_url, {"unit_cost": 1}, format="json").status_code == 404
    assert client.get(f"{API}/solutions/").json()["results"] == []
    assert client.get(f"{API}/device-models/").json()["results"] == []
    draft.refresh_from_db()
    assert draft.name == "小店烟感套餐" and draft.status == Status.DRAFT


def test_solution_list_query_count_is_constant(
    api_client_for, vince, vendor, fire, smoke_detector, django_assert_num_queries
):
    def grow(count):
        for _ in range(count):
            services.solution_create(
                vendor=vendor,
                by=vince,
                scenario=fire,
                tier="low",
                bom=[{"device_model": smoke_detector, "rule": "fixed", "quantity": 1}],
                **revision_fields(),
            )

    client = api_client_for(vince)
    grow(1)
    client.get(f"{API}/solutions/")  # the token's first use is recorded once
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(f"{API}/solutions/")
    grow(10)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(f"{API}/solutions/").json()["results"]) == 11
    assert Vendor.objects.count() == 1
