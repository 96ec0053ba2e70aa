"""The platform operator's admin: every page opens, and edits keep grants and groups in step."""

from datetime import timedelta
from io import StringIO

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse
from guardian.shortcuts import assign_perm

from accounts.models import ApiToken, AuditEntry, Membership, Organisation, User
from accounts.services import api_token_create, invitation_create
from tests import factories
from units import selectors, services
from units.models import DutyShift, Region, Responder, Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return User.objects.create_superuser(email="ops@safeunit.cn", full_name="Operator")


@pytest.fixture
def operator_client(client_for, operator):
    return client_for(operator)


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response) -> dict:
    """What the browser would post back from an admin change page, unchanged."""
    data = _fields(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data |= _fields(formset.management_form)
        for form in formset.forms:
            data |= _fields(form)
    return data


def _fields(form) -> dict:
    data = {}
    for bound in form:
        value = bound.value()
        widget = getattr(bound.field.widget, "widget", bound.field.widget)
        if isinstance(widget, forms.MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        elif value is not None:
            data[bound.html_name] = value
    return data


# Every page ----------------------------------------------------------------------------------


def test_every_accounts_and_units_admin_page_opens_for_the_operator(operator_client, operator):
    call_command("load_demo", stdout=StringIO())
    # Rows the demo does not make: a token, an invitation, a grant to one person.
    api_token_create(user=operator, name="ci")
    merchant = User.objects.get(email="merchant@demo.safeunit.cn")
    invitation_create(
        organisation=merchant.memberships.get().organisation,
        email="helper@example.cn",
        role="staff",
        by=merchant,
    )
    assign_perm("units.view_unit", operator, Unit.objects.first())
    registered = {
        model: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in ("accounts", "units")
    }
    # Every model of both apps has a page, or is edited inline on its parent's page.
    inline_only = {"emergencycontact"}
    for app_label in ("accounts", "units"):
        for model in apps.get_app_config(app_label).get_models():
            assert model in registered or model._meta.model_name in inline_only, model

    for model, model_admin in registered.items():
        changelist = operator_client.get(admin_url(model, "changelist"))
        assert changelist.status_code == 200, model
        if model_admin.search_fields:
            assert (
                operator_client.get(admin_url(model, "changelist"), {"q": "田子坊"}).status_code
                == 200
            )
        add = operator_client.get(admin_url(model, "add"))
        assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)
        first = model.objects.order_by("pk").first()
        assert first is not None, f"load_demo made no {model._meta.label}"
        assert operator_client.get(admin_url(model, "change", first.pk)).status_code == 200, model


def test_a_user_who_is_not_platform_staff_is_sent_to_the_admin_login(client_for, alice):
    response = client_for(alice).get(admin_url(Unit, "changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# Responders and units: grants follow admin edits ---------------------------------------------


@pytest.fixture
def fire_desk(regions):
    desk = factories.UserFactory(email="desk@fire.cn")
    organisation = factories.organisation_for(desk, kind=Organisation.Kind.RESPONDER)
    responder = services.responder_create(
        organisation=organisation,
        name="黄浦消防站",
        kind=Responder.Kind.FIRE_STATION,
        phone="021-119",
        regions=[regions["subdistrict"]],
    )
    return desk, responder


def test_changing_a_responders_regions_in_the_admin_changes_what_its_desk_sees(
    operator_client, operator, fire_desk, alice_unit, charlie_unit, other_regions
):
    desk, responder = fire_desk
    assert list(selectors.unit_list_for(user=desk)) == [alice_unit]
    url = admin_url(Responder, "change", responder.pk)
    data = form_data(operator_client.get(url))
    data["regions"] = [other_regions["subdistrict"].pk]

    response = operator_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(selectors.unit_list_for(user=desk)) == [charlie_unit]
    assert desk.has_perm("units.respond_unit", charlie_unit)
    assert not desk.has_perm("units.respond_unit", alice_unit)
    audit = AuditEntry.objects.filter(action="responder.set_regions", actor=operator).get()
    assert audit.changes == {"regions": [other_regions["subdistrict"].code]}


def test_deleting_a_responder_in_the_admin_withdraws_its_grants(
    operator_client, fire_desk, alice_unit
):
    desk, responder = fire_desk

    response = operator_client.post(admin_url(Responder, "delete", responder.pk), {"post": "yes"})

    assert response.status_code == 302
    assert list(selectors.unit_list_for(user=desk)) == []


def test_moving_a_unit_to_another_region_in_the_admin_moves_its_responders(
    operator_client, fire_desk, alice_unit, other_regions
):
    desk, _responder = fire_desk
    url = admin_url(Unit, "change", alice_unit.pk)
    data = form_data(operator_client.get(url))
    data["region"] = other_regions["grid"].pk

    response = operator_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(selectors.unit_list_for(user=desk)) == []


def test_taking_a_shop_out_of_its_park_in_the_admin_hides_it_from_the_park_office(
    operator_client, alice_org, alice, charlie, charlie_org, regions
):
    park = factories.unit_for(
        charlie_org, by=charlie, region=regions["grid"], name="田子坊", kind="park"
    )
    shop = factories.unit_for(alice_org, by=alice, region=regions["grid"], parent=park)
    assert shop in selectors.unit_list_for(user=charlie)
    url = admin_url(Unit, "change", shop.pk)
    data = form_data(operator_client.get(url))
    data["parent"] = ""

    response = operator_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert shop not in selectors.unit_list_for(user=charlie)


def test_the_admin_refuses_a_unit_inside_a_shop_and_writes_nothing(
    operator_client, alice_unit, alice_org, regions
):
    before = Unit.objects.count()
    data = form_data(operator_client.get(admin_url(Unit, "change", alice_unit.pk)))
    data |= {"name": "Shop in a shop", "parent": alice_unit.pk}
    data["contacts-TOTAL_FORMS"] = data["contacts-INITIAL_FORMS"] = "0"
    data["units-unitgroupobjectpermission-content_object-INITIAL_FORMS"] = "0"
    data["units-unitgroupobjectpermission-content_object-TOTAL_FORMS"] = "0"

    response = operator_client.post(admin_url(Unit, "add"), data)

    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    assert Unit.objects.count() == before


def test_the_unit_region_picker_offers_grids_only(operator_client, regions):
    response = operator_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "units", "model_name": "unit", "field_name": "region", "term": "黄浦"},
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(regions["grid"].pk)]


# Regions -------------------------------------------------------------------------------------


def test_adding_a_region_in_the_admin_checks_its_level_and_sets_its_path(operator_client, regions):
    url = admin_url(Region, "add")
    wrong = {"code": "310101002002", "name": "第二网格", "level": "subdistrict"}
    wrong["parent"] = regions["subdistrict"].pk

    response = operator_client.post(url, wrong)

    assert response.status_code == 200
    assert "level" in response.context["adminform"].form.errors
    assert not Region.objects.filter(code="310101002002").exists()

    response = operator_client.post(url, wrong | {"level": "grid"})

    assert response.status_code == 302
    region = Region.objects.get(code="310101002002")
    assert region.path == "/310000/310101/310101002/310101002002/"


# Organisations, users, tokens, audit ---------------------------------------------------------


def _organisation_add_data(name, memberships):
    data = {
        "name": name,
        "kind": "unit",
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": "0",
    }
    for index, (user, role) in enumerate(memberships):
        data[f"memberships-{index}-user"] = user.pk
        data[f"memberships-{index}-role"] = role
    return data


def test_adding_an_organisation_in_the_admin_puts_its_members_in_its_group(
    operator_client, alice, bob
):
    data = _organisation_add_data("新店", [(alice, "owner"), (bob, "staff")])

    response = operator_client.post(admin_url(Organisation, "add"), data)

    assert response.status_code == 302, response.context["inline_admin_formsets"]
    organisation = Organisation.objects.get(name="新店")
    assert set(organisation.group.user_set.all()) == {alice, bob}
    assert Membership.objects.get(organisation=organisation, user=alice).role == "owner"


def test_an_organisation_without_an_owner_is_refused(operator_client, bob):
    data = _organisation_add_data("无主之店", [(bob, "staff")])

    response = operator_client.post(admin_url(Organisation, "add"), data)

    assert response.status_code == 200
    assert not Organisation.objects.filter(name="无主之店").exists()


def test_removing_a_member_in_the_admin_takes_them_out_of_the_group(
    operator_client, alice_org, alice_unit, bob, charlie_unit
):
    url = admin_url(Organisation, "change", alice_org.pk)
    data = form_data(operator_client.get(url))
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.endswith("-id") and Membership.objects.get(pk=value).user == bob
    )
    data[f"memberships-{index}-DELETE"] = "on"

    response = operator_client.post(url, data)

    assert response.status_code == 302
    assert not bob.groups.filter(pk=alice_org.group_id).exists()
    assert list(selectors.unit_list_for(user=bob)) == []


def test_adding_a_user_in_the_admin_stores_the_email_in_lower_case(operator_client):
    response = operator_client.post(
        admin_url(User, "add"),
        {
            "email": "New.Person@Example.CN",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a-long-safe-password",
            "password2": "a-long-safe-password",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.person@example.cn")
    assert user.check_password("a-long-safe-password")


def test_the_token_page_never_shows_the_hash_and_cannot_edit(operator_client, alice):
    token, raw_key = api_token_create(user=alice, name="scripts")

    page = operator_client.get(admin_url(ApiToken, "change", token.pk))

    assert page.status_code == 200
    content = page.content.decode()
    assert token.key_hash not in content and raw_key not in content
    assert token.hint in content
    assert operator_client.get(admin_url(ApiToken, "add")).status_code == 403
    response = operator_client.post(admin_url(ApiToken, "change", token.pk), {"name": "x"})
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.name == "scripts"


def test_the_audit_trail_cannot_be_added_to_or_deleted_from(operator_client, alice_unit):
    entry = AuditEntry.objects.filter(action="unit.create").get()

    assert operator_client.get(admin_url(AuditEntry, "add")).status_code == 403
    response = operator_client.post(admin_url(AuditEntry, "delete", entry.pk), {"post": "yes"})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_a_week_long_shift_is_refused_under_its_end(operator_client, fire_desk):
    _desk, responder = fire_desk
    starts_at = factories.now().replace(microsecond=0)
    data = {
        "responder": responder.pk,
        "starts_at_0": starts_at.date().isoformat(),
        "starts_at_1": "08:00:00",
        "ends_at_0": (starts_at + timedelta(days=8)).date().isoformat(),
        "ends_at_1": "08:00:00",
        "contact_name": "刘强",
        "contact_phone": "13900000000",
    }

    response = operator_client.post(admin_url(DutyShift, "add"), data)

    assert response.status_code == 200
    assert "ends_at" in response.context["adminform"].form.errors
    assert not DutyShift.objects.exists()


def test_deleting_an_authority_in_the_admin_ends_its_members_view(
    operator_client, alice_unit, regions
):
    reviewer = factories.UserFactory()
    authority = services.authority_create(
        name="黄浦区城运中心", region=regions["district"], owner=reviewer
    )
    assert list(selectors.unit_list_for(user=reviewer)) == [alice_unit]

    response = operator_client.post(
        admin_url(Organisation, "delete", authority.organisation.pk), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Organisation.objects.filter(pk=authority.organisation.pk).exists()
    assert list(selectors.unit_list_for(user=reviewer)) == []
    assert not reviewer.has_perm("units.view_unit", alice_unit)
