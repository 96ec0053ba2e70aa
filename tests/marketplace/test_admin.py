"""The marketplace admin: every page opens for the operator, drafts can be fixed, and nothing
with a certificate behind it can be changed here."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command

from marketplace.models import (
    BomLine,
    DeviceModel,
    ReferenceStandard,
    RevisionTransition,
    Scenario,
    SolutionRevision,
)
from tests.marketplace_fixtures import YUAN
from tests.test_admin import admin_url, form_data

pytestmark = pytest.mark.django_db
INLINE_ONLY = {"requirement", "tierband", "bomline", "requirementverdict"}


@pytest.fixture
def operator_client(client_for, django_user_model):
    operator = django_user_model.objects.create_superuser(
        email="ops@safeunit.cn", full_name="Operator"
    )
    return client_for(operator)


def test_every_marketplace_admin_page_opens_for_the_operator(operator_client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_marketplace_demo", stdout=StringIO())
    registered = {
        model: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "marketplace"
    }
    for model in apps.get_app_config("marketplace").get_models():
        assert model in registered or model._meta.model_name in INLINE_ONLY, model

    for model, model_admin in registered.items():
        assert operator_client.get(admin_url(model, "changelist")).status_code == 200, model
        search = operator_client.get(admin_url(model, "changelist"), {"q": "演示"})
        assert search.status_code == 200, model
        add = operator_client.get(admin_url(model, "add"))
        expected = 200 if model_admin.has_add_permission(add.wsgi_request) else 403
        assert add.status_code == expected, model
        first = model.objects.order_by("pk").first()
        assert first is not None, f"the demo made no {model._meta.label}"
        assert operator_client.get(admin_url(model, "change", first.pk)).status_code == 200, model

    # Filters an operator reaches for: the review queue, and a vendor by name.
    queue = operator_client.get(admin_url(SolutionRevision, "changelist"), {"status": "submitted"})
    assert (
        queue.context["cl"].result_count
        == SolutionRevision.objects.filter(status="submitted").count()
    )
    found = operator_client.get(admin_url(SolutionRevision, "changelist"), {"q": "梯安物联"})
    assert {row.solution.vendor.organisation.name for row in found.context["cl"].result_list} == {
        "梯安物联（演示）"
    }


def test_a_certified_revision_cannot_be_changed_in_the_admin(operator_client, certified):
    url = admin_url(SolutionRevision, "change", certified.pk)
    page = operator_client.get(url)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]

    response = operator_client.post(url, {"name": "改名", "purchase_price": 1})

    assert response.status_code == 403
    certified.refresh_from_db()
    assert certified.name == "小店烟感套餐" and certified.status == "certified"
    delete = operator_client.post(admin_url(SolutionRevision, "delete", certified.pk))
    assert delete.status_code == 403


def test_a_draft_revision_can_be_fixed_and_its_status_is_not_a_field(operator_client, draft):
    url = admin_url(SolutionRevision, "change", draft.pk)
    data = form_data(operator_client.get(url))
    assert "status" not in data and "certificate_number" not in data
    data |= {"name": "小店烟感套餐（修订）", "status": "certified"}

    response = operator_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    draft.refresh_from_db()
    assert draft.name == "小店烟感套餐（修订）"
    assert draft.status == "draft"


def test_a_bill_of_materials_line_with_another_vendors_model_is_refused(
    operator_client, draft, other_vendor, wendy, fire
):
    from marketplace import services

    foreign = services.device_model_save(
        vendor=other_vendor,
        by=wendy,
        scenarios=[fire],
        name="烟感",
        model_number="PJ-1",
        category=DeviceModel.Category.SMOKE_DETECTOR,
        heartbeat_interval_s=3600,
        heartbeat_grace_s=600,
        protocol=DeviceModel.Protocol.HTTP,
        unit_cost=50 * YUAN,
    )
    url = admin_url(SolutionRevision, "change", draft.pk)
    data = form_data(operator_client.get(url))
    line = draft.bom.get()
    data["bom-0-device_model"] = foreign.pk

    response = operator_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert "device_model" in errors[0]
    assert BomLine.objects.get(pk=line.pk).device_model != foreign


def test_a_published_standard_is_read_only_and_a_draft_gets_the_next_version(
    operator_client, fire_standard, fire, authority
):
    url = admin_url(ReferenceStandard, "change", fire_standard.pk)
    assert operator_client.post(url, {"title": "改"}).status_code == 403
    assert (
        operator_client.post(admin_url(ReferenceStandard, "delete", fire_standard.pk)).status_code
        == 403
    )

    response = operator_client.post(
        admin_url(ReferenceStandard, "add"),
        {
            "scenario": fire.pk,
            "title": "消防安全参考标准（修订稿）",
            "title_en": "Fire safety reference standard (revised draft)",
            "authority": authority.pk,
            "allowed_modes": ["purchase"],
            "monitoring_fee_min": 200,
            "monitoring_fee_max": 100,
            "requirements-TOTAL_FORMS": "0",
            "requirements-INITIAL_FORMS": "0",
            "bands-TOTAL_FORMS": "0",
            "bands-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the band is upside down
    assert ReferenceStandard.objects.count() == 1

    data = response.context["adminform"].form.data.copy()
    data["monitoring_fee_max"] = 2000
    response = operator_client.post(admin_url(ReferenceStandard, "add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    revised = ReferenceStandard.objects.get(title="消防安全参考标准（修订稿）")
    assert (revised.version, revised.status, revised.allowed_modes) == (2, "draft", ["purchase"])


def test_device_model_metrics_are_checked_like_the_service_does(operator_client, smoke_detector):
    url = admin_url(DeviceModel, "change", smoke_detector.pk)
    data = form_data(operator_client.get(url))
    data.pop("datasheet")  # no file uploaded
    data["metrics"] = '[{"name": "smoke", "min": 5, "max": 1}]'

    response = operator_client.post(url, data)

    assert response.status_code == 200
    assert "metrics" in response.context["adminform"].form.errors
    smoke_detector.refresh_from_db()
    assert smoke_detector.metrics[0]["max"] == 2


def test_transitions_cannot_be_added_or_deleted(operator_client, certified):
    transition = certified.transitions.first()

    assert operator_client.get(admin_url(RevisionTransition, "add")).status_code == 403
    response = operator_client.post(
        admin_url(RevisionTransition, "delete", transition.pk), {"post": "yes"}
    )
    assert response.status_code == 403
    assert RevisionTransition.objects.filter(pk=transition.pk).exists()


def test_a_scenario_code_is_fixed_once_made(operator_client, fire):
    url = admin_url(Scenario, "change", fire.pk)
    data = form_data(operator_client.get(url))
    assert "code" not in data
    data |= {"code": "blaze", "name_en": "Fire"}

    response = operator_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    fire.refresh_from_db()
    assert (fire.code, fire.name_en) == ("fire", "Fire")
