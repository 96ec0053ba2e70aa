"""The vendor workspace pages: vince (owner) and sam (staff) write, val (viewer) reads,
wendy (another vendor) gets 404 on everything of vince's."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Organisation
from marketplace import services
from marketplace.models import BomLine, DeviceModel, Solution, SolutionRevision, Vendor
from tests import factories
from tests.marketplace_fixtures import YUAN, revision_fields

Status = SolutionRevision.Status
HOME = reverse("marketplace:vendor_home")


def solution_url(solution, name="vendor_solution", *args):
    return reverse(f"marketplace:{name}", args=[solution.public_id, *args])


def device_model_data(**overrides):
    data = {
        "name": "温感探测器",
        "model_number": "SA-H200",
        "category": DeviceModel.Category.HEAT_DETECTOR,
        "scenarios": [],
        "metrics": "temperature,°C,-20,85\nbattery,%,0,100",
        "heartbeat_interval_s": "3600",
        "heartbeat_grace_s": "600",
        "battery_life_months": "36",
        "protocol": DeviceModel.Protocol.MQTT,
        "unit_cost": "45.50",
    }
    data.update(overrides)
    return data


def bom_data(lines, prefix="bom"):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(lines)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        for key, value in line.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def revision_data(**overrides):
    data = {
        "name": "商铺烟感套餐",
        "name_en": "Shop smoke kit",
        "purchase_price": "180.00",
        "installation_fee": "20",
        "lease_monthly_fee": "",
        "lease_min_months": "",
        "lease_deposit": "",
        "lease_buyout_price": "",
        "monitoring_fee": "5",
        "warranty_months": "24",
        "repair_sla_hours": "24",
    }
    data.update(overrides)
    return data


def solution_data(fire, smoke_detector, line=None, **overrides):
    line = line or {
        "device_model": smoke_detector.pk,
        "rule": BomLine.Rule.PER_AREA,
        "quantity": "1",
        "area_step_m2": "30",
    }
    return {
        "scenario": fire.pk,
        "tier": "low",
        **revision_data(**overrides),
        **bom_data([line]),
    }


# Home ----------------------------------------------------------------------------------------


def test_home_shows_profile_device_models_and_every_revision(
    client_for, vince, certified, smoke_detector
):
    services.revision_new_draft(solution=certified.solution, by=vince)

    response = client_for(vince).get(HOME)

    assert response.status_code == 200
    content = response.content.decode()
    assert "91310101MA1FP0001X" in content
    assert "SA-S100" in content and "¥60.00" in content
    assert certified.certificate_number in content
    assert f"solution-{certified.solution.public_id}-r1" in content
    assert f"solution-{certified.solution.public_id}-r2" in content
    assert str(certified.valid_until.year) in content


def test_viewer_reads_home_without_write_actions(client_for, vendor_viewer, draft):
    response = client_for(vendor_viewer).get(HOME)

    content = response.content.decode()
    assert response.status_code == 200 and "小店烟感套餐" in content
    assert reverse("marketplace:vendor_solution_create") not in content
    assert reverse("marketplace:vendor_device_model_create") not in content
    assert reverse("marketplace:vendor_profile") not in content


def test_home_prompts_for_a_missing_profile(client_for, vince):
    factories.organisation_for(vince, kind=Organisation.Kind.VENDOR, name="新厂商")

    response = client_for(vince).get(HOME)

    assert response.status_code == 200
    assert 'id="profile-prompt"' in response.content.decode()
    assert reverse("marketplace:vendor_profile") in response.content.decode()


def test_home_is_404_for_a_unit_organisation(client_for, alice, alice_org):
    assert client_for(alice).get(HOME).status_code == 404


def test_home_htmx_renders_the_solutions_partial(client_for, vince, draft):
    response = client_for(vince).get(HOME, HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="solutions">')
    assert "小店烟感套餐" in content


def _grow(vendor, vince, fire, smoke_detector, count):
    for _ in range(count):
        revision = services.solution_create(
            vendor=vendor,
            by=vince,
            scenario=fire,
            tier="low",
            bom=[{"device_model": smoke_detector, "rule": "fixed", "quantity": 2}],
            **revision_fields(lease_monthly_fee=None, lease_min_months=None, lease_deposit=None),
        )
        revision.status = Status.REJECTED
        revision.save(update_fields=["status"])
        services.revision_new_draft(solution=revision.solution, by=vince)


def test_home_query_count_is_constant_as_solutions_grow(
    client_for, vince, vendor, fire, smoke_detector, django_assert_num_queries
):
    client = client_for(vince)
    _grow(vendor, vince, fire, smoke_detector, 1)
    client.get(HOME)  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(HOME).status_code == 200
    _grow(vendor, vince, fire, smoke_detector, 10)
    assert SolutionRevision.objects.count() == 22

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(HOME)
    assert response.content.decode().count('id="solution-') == 22


# Profile -------------------------------------------------------------------------------------


def test_owner_completes_the_profile(client_for, vince):
    organisation = factories.organisation_for(vince, kind=Organisation.Kind.VENDOR, name="新厂商")
    data = {
        "licence_number": "91310101MA1FP0009Z",
        "contact_name": "Vince",
        "contact_phone": "021-60000009",
        "contact_email": "sales@example.cn",
        "description": "",
        "website": "",
    }

    response = client_for(vince).post(reverse("marketplace:vendor_profile"), data)

    assert response.status_code == 302
    assert Vendor.objects.get(organisation=organisation).licence_number == "91310101MA1FP0009Z"


def test_staff_and_viewer_cannot_edit_the_profile(client_for, vendor_staff, vendor_viewer):
    for user in (vendor_staff, vendor_viewer):
        assert client_for(user).get(reverse("marketplace:vendor_profile")).status_code == 403


def test_profile_error_names_the_field(client_for, vince, vendor):
    data = {
        "licence_number": "91310101MA1FP0001X",
        "contact_name": "Vince",
        "contact_phone": "not a phone",
        "contact_email": "x@example.cn",
    }

    response = client_for(vince).post(reverse("marketplace:vendor_profile"), data)

    assert response.status_code == 200
    assert 'id="id_contact_phone_errors"' in response.content.decode()
    vendor.refresh_from_db()
    assert vendor.contact_phone == "021-60000000"


# Device models -------------------------------------------------------------------------------


def test_staff_adds_a_device_model_with_metrics_price_and_datasheet(
    client_for, vendor_staff, vendor, fire
):
    datasheet = SimpleUploadedFile("h200.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    data = device_model_data(scenarios=[fire.pk], datasheet=datasheet)

    response = client_for(vendor_staff).post(
        reverse("marketplace:vendor_device_model_create"), data
    )

    assert response.status_code == 302
    device_model = DeviceModel.objects.get(model_number="SA-H200")
    assert device_model.unit_cost == 4550
    assert device_model.metrics == [
        {"name": "temperature", "unit": "°C", "min": -20, "max": 85},
        {"name": "battery", "unit": "%", "min": 0, "max": 100},
    ]
    assert list(device_model.scenarios.all()) == [fire]
    assert device_model.datasheet.name.endswith(".pdf")
    listing = client_for(vendor_staff).get(reverse("marketplace:vendor_device_models"))
    assert "SA-H200" in listing.content.decode() and "¥45.50" in listing.content.decode()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"unit_cost": "45.505"}, "unit_cost"),
        ({"metrics": "temperature,°C,90,10"}, "metrics"),
        ({"metrics": "temperature,°C"}, "metrics"),
        ({"heartbeat_interval_s": "5"}, "heartbeat_interval_s"),
        (
            {"datasheet": SimpleUploadedFile("x.pdf", b"MZ not a pdf", content_type="x")},
            "datasheet",
        ),
    ],
)
def test_bad_device_model_input_names_the_field_and_writes_nothing(
    client_for, vince, vendor, fire, overrides, field
):
    data = device_model_data(scenarios=[fire.pk], **overrides)

    response = client_for(vince).post(reverse("marketplace:vendor_device_model_create"), data)

    assert response.status_code == 200
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert not DeviceModel.objects.exists()


def test_datasheet_over_10_mb_is_refused(client_for, vince, vendor, fire):
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf")
    data = device_model_data(scenarios=[fire.pk], datasheet=big)

    response = client_for(vince).post(reverse("marketplace:vendor_device_model_create"), data)

    assert "10 MB" in response.content.decode()
    assert not DeviceModel.objects.exists()


def test_owner_edits_a_device_model(client_for, vince, smoke_detector, fire):
    url = reverse("marketplace:vendor_device_model_edit", args=[smoke_detector.public_id])
    client = client_for(vince)
    assert "smoke,dB/m,0,2" in client.get(url).content.decode()

    data = device_model_data(
        name=smoke_detector.name, model_number="SA-S100", scenarios=[fire.pk], unit_cost="61"
    )
    assert client.post(url, data).status_code == 302

    smoke_detector.refresh_from_db()
    assert smoke_detector.unit_cost == 6100


def test_viewer_cannot_add_or_edit_device_models(client_for, vendor_viewer, smoke_detector, fire):
    client = client_for(vendor_viewer)
    create = reverse("marketplace:vendor_device_model_create")
    edit = reverse("marketplace:vendor_device_model_edit", args=[smoke_detector.public_id])

    assert client.get(create).status_code == 403
    assert client.post(create, device_model_data(scenarios=[fire.pk])).status_code == 403
    assert client.post(edit, device_model_data(scenarios=[fire.pk])).status_code == 403
    assert DeviceModel.objects.count() == 1


# Solutions -----------------------------------------------------------------------------------


def test_owner_creates_a_solution_with_its_first_revision(client_for, vince, fire, smoke_detector):
    response = client_for(vince).post(
        reverse("marketplace:vendor_solution_create"), solution_data(fire, smoke_detector)
    )

    solution = Solution.objects.get()
    assert response.status_code == 302
    assert response.url == solution_url(solution)
    revision = solution.revisions.get()
    assert (revision.number, revision.status, revision.purchase_price) == (1, "draft", 18000)
    assert list(revision.bom.values_list("rule", "quantity", "area_step_m2")) == [
        ("per_area", 1, 30)
    ]


def _other_model(wendy, other_vendor, fire):
    return services.device_model_save(
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


@pytest.mark.parametrize(
    "case, field",
    [
        ("price_3_decimals", "purchase_price"),
        ("negative_quantity", "quantity"),
        ("per_area_without_n", "area_step_m2"),
        ("other_vendors_model", "device_model"),
        ("lease_incomplete", "lease_monthly_fee"),
    ],
)
def test_bad_solution_input_names_the_field_and_writes_nothing(
    client_for, vince, fire, smoke_detector, wendy, other_vendor, case, field
):
    line = {"device_model": smoke_detector.pk, "rule": "per_area", "quantity": "1"}
    line["area_step_m2"] = "" if case == "per_area_without_n" else "30"
    if case == "negative_quantity":
        line["quantity"] = "-2"
    if case == "other_vendors_model":
        line["device_model"] = _other_model(wendy, other_vendor, fire).pk
    overrides = {}
    if case == "price_3_decimals":
        overrides["purchase_price"] = "180.125"
    if case == "lease_incomplete":
        overrides["lease_monthly_fee"] = "8"
    data = solution_data(fire, smoke_detector, line=line, **overrides)

    response = client_for(vince).post(reverse("marketplace:vendor_solution_create"), data)

    assert response.status_code == 200
    prefix = "bom-0-" if field in {"quantity", "area_step_m2", "device_model"} else ""
    assert f'id="id_{prefix}{field}_errors"' in response.content.decode()
    assert not Solution.objects.exists() and not SolutionRevision.objects.exists()


def test_viewer_cannot_create_solutions(client_for, vendor_viewer, fire, smoke_detector):
    url = reverse("marketplace:vendor_solution_create")
    client = client_for(vendor_viewer)

    assert client.get(url).status_code == 403
    assert client.post(url, solution_data(fire, smoke_detector)).status_code == 403
    assert not Solution.objects.exists()


def test_solution_page_shows_revisions_bom_and_timeline(client_for, vince, certified, rita):
    response = client_for(vince).get(solution_url(certified.solution))

    content = response.content.decode()
    assert response.status_code == 200
    assert certified.certificate_number in content
    assert "NB-IoT 独立式烟感" in content and "N = 30 m²" in content
    assert "Rita" in content and "Vince" in content and "符合" in content
    assert 'id="new-revision"' in content and 'id="submit-r1"' not in content


def test_staff_edits_a_draft_and_its_bom(client_for, vendor_staff, draft, smoke_detector):
    url = solution_url(draft.solution, "vendor_revision_edit", 1)
    client = client_for(vendor_staff)
    assert "180.00" in client.get(url).content.decode()
    line = {"device_model": smoke_detector.pk, "rule": "per_floor", "quantity": "2"}
    data = {**revision_data(purchase_price="199.99"), **bom_data([line])}

    response = client.post(url, data)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.purchase_price == 19999 and draft.lease_monthly_fee is None
    assert list(draft.bom.values_list("rule", "quantity")) == [("per_floor", 2)]


def test_draft_edit_error_keeps_the_old_revision(client_for, vince, draft, smoke_detector):
    url = solution_url(draft.solution, "vendor_revision_edit", 1)
    line = {"device_model": smoke_detector.pk, "rule": "fixed", "quantity": "0"}
    data = {**revision_data(purchase_price="1"), **bom_data([line])}

    response = client_for(vince).post(url, data)

    assert 'id="id_bom-0-quantity_errors"' in response.content.decode()
    draft.refresh_from_db()
    assert draft.purchase_price == 180 * YUAN
    assert list(draft.bom.values_list("rule", flat=True)) == ["per_area"]


def test_submit_happy_path(client_for, vince, draft, fire_standard):
    response = client_for(vince).post(solution_url(draft.solution, "vendor_revision_submit", 1))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED and draft.standard == fire_standard
    page = client_for(vince).get(solution_url(draft.solution)).content.decode()
    assert "Submitted" in page or "已提交" in page


def test_submit_without_a_published_standard_says_so(client_for, vince, draft):
    response = client_for(vince).post(
        solution_url(draft.solution, "vendor_revision_submit", 1), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "no published reference standard" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_submit_a_lease_the_standard_does_not_allow(client_for, vince, draft, fire_standard):
    fire_standard.allowed_modes = ["purchase"]
    fire_standard.save(update_fields=["allowed_modes"])

    response = client_for(vince).post(solution_url(draft.solution, "vendor_revision_submit", 1))

    assert "does not allow leasing" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_viewer_cannot_submit(client_for, vendor_viewer, draft, fire_standard):
    response = client_for(vendor_viewer).post(
        solution_url(draft.solution, "vendor_revision_submit", 1)
    )

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_new_revision_of_a_certified_solution(client_for, vince, certified):
    response = client_for(vince).post(solution_url(certified.solution, "vendor_revision_new"))

    assert response.status_code == 302
    assert response.url == solution_url(certified.solution, "vendor_revision_edit", 2)
    assert certified.solution.revisions.get(number=2).status == Status.DRAFT


def test_new_revision_refused_while_a_draft_is_open(client_for, vince, draft):
    response = client_for(vince).post(solution_url(draft.solution, "vendor_revision_new"))

    assert "still open" in response.content.decode()
    assert draft.solution.revisions.count() == 1


# Outsiders -----------------------------------------------------------------------------------


def test_other_vendor_gets_404_on_everything_of_vinces(
    client_for, wendy, other_vendor, draft, smoke_detector, fire
):
    client = client_for(wendy)
    solution = draft.solution
    edit_model = reverse("marketplace:vendor_device_model_edit", args=[smoke_detector.public_id])

    for url in [
        solution_url(solution),
        solution_url(solution, "vendor_revision_edit", 1),
        edit_model,
    ]:
        assert client.get(url).status_code == 404, url
    for url in [
        solution_url(solution, "vendor_revision_edit", 1),
        solution_url(solution, "vendor_revision_submit", 1),
        solution_url(solution, "vendor_revision_new"),
        edit_model,
    ]:
        assert client.post(url, device_model_data(scenarios=[fire.pk])).status_code == 404, url
    home = client.get(HOME).content.decode()
    assert "小店烟感套餐" not in home and "SA-S100" not in home
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and draft.solution.revisions.count() == 1


def test_unit_users_get_404_on_vendor_pages(client_for, alice, alice_org, draft):
    client = client_for(alice)
    for url in [
        HOME,
        reverse("marketplace:vendor_profile"),
        reverse("marketplace:vendor_device_models"),
        reverse("marketplace:vendor_solution_create"),
        solution_url(draft.solution),
    ]:
        assert client.get(url).status_code == 404, url
