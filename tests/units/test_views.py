"""The units pages as each persona meets them: alice (owner), bob (staff), vera (viewer),
charlie (outsider, 404 everywhere), rita (the district authority), dan/dora/victor (the fire
station's duty desk) and pam (the park office that alice's second shop sits in)."""

import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from tests import factories
from units import services
from units.models import DutyShift, EmergencyContact, Region, Unit

HTMX = {"HTTP_HX_REQUEST": "true"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def body_of(response) -> str:
    """The page's text as a person reads it (entities such as &#x27; decoded)."""
    return html.unescape(response.content.decode())


def is_partial(response) -> bool:
    return b"<html" not in response.content and b"<!DOCTYPE" not in response.content


def page_query_count(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(queries.captured_queries)


def unit_payload(regions, **overrides) -> dict:
    payload = {
        "name": "老西门小吃",
        "kind": Unit.Kind.SHOP,
        "parent": "",
        "region": regions["grid"].code,
        "address": "中华路1号",
        "floor_area_m2": "45",
        "floors": "1",
        "shops_inside": "0",
        "households": "0",
        "elevators": "0",
        "entrances": "1",
        "daily_visitors": "200",
        "responsible_name": "李四",
        "responsible_phone": "13811112222",
    }
    payload.update(overrides)
    return payload


def contact_for(unit, by, name, phone="13700000000"):
    return services.contact_create(unit=unit, by=by, name=name, phone=phone)


def local_input(moment: datetime) -> str:
    """What a datetime-local input sends for that moment, read in Shanghai."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def tomorrow_at(hour: int) -> datetime:
    day = timezone.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI)


def shift_payload(**overrides) -> dict:
    payload = {
        "starts_at": local_input(tomorrow_at(8)),
        "ends_at": local_input(tomorrow_at(20)),
        "contact_name": "赵值班",
        "contact_phone": "13900000002",
        "note": "夜班交接",
    }
    payload.update(overrides)
    return payload


# Unit list -----------------------------------------------------------------------------------


def test_unit_list_shows_own_units_with_their_facts_and_edit_links(
    client_for, alice, alice_unit, charlie_unit, shop_in_park
):
    response = client_for(alice).get(reverse("units:list"))

    assert response.status_code == 200
    body = body_of(response)
    assert alice_unit.name in body and shop_in_park.name in body
    assert charlie_unit.name not in body
    assert alice_unit.region.name in body
    assert "田子坊" in body  # the parent unit column
    assert reverse("units:edit", args=[alice_unit.public_id]) in body
    assert reverse("units:create") in body


def test_unit_list_for_a_viewer_has_no_edit_or_add_links(client_for, vera, alice_unit):
    body = body_of(client_for(vera).get(reverse("units:list")))

    assert alice_unit.name in body
    assert reverse("units:edit", args=[alice_unit.public_id]) not in body
    assert reverse("units:create") not in body


def test_unit_list_of_an_outsider_shows_none_of_alices_units(client_for, charlie, alice_unit):
    body = body_of(client_for(charlie).get(reverse("units:list")))

    assert alice_unit.name not in body


def test_unit_list_filters_by_kind_and_searches_by_name(
    client_for, alice, alice_org, alice_unit, regions
):
    estate = factories.unit_for(
        alice_org, by=alice, region=regions["grid"], name="春江小区", kind=Unit.Kind.ESTATE
    )
    client = client_for(alice)

    by_kind = client.get(reverse("units:list"), {"kind": "estate"})
    by_name = client.get(reverse("units:list"), {"q": "alice"})

    assert [row["unit"] for row in by_kind.context["rows"]] == [estate]
    assert [row["unit"] for row in by_name.context["rows"]] == [alice_unit]
    assert 'value="estate" selected' in body_of(by_kind)


def test_unit_list_htmx_gets_the_results_partial(client_for, alice, alice_unit):
    response = client_for(alice).get(reverse("units:list"), {"q": "Alice"}, **HTMX)

    assert response.status_code == 200
    assert is_partial(response)
    assert b'id="results"' in response.content
    assert alice_unit.name in body_of(response)


def test_unit_list_is_paginated(client_for, alice, alice_org, regions):
    for number in range(30):
        factories.unit_for(alice_org, by=alice, region=regions["grid"], name=f"店{number:02}")
    client = client_for(alice)

    first = body_of(client.get(reverse("units:list")))
    second = body_of(client.get(reverse("units:list"), {"page": 2}))

    assert "店00" in first and "店29" not in first
    assert "店29" in second and "店00" not in second
    assert "?page=2" in first


def test_unit_list_query_count_stays_constant_as_units_grow(
    client_for, alice, alice_org, alice_unit, regions, park, django_assert_num_queries
):
    client = client_for(alice)
    url = reverse("units:list")
    client.get(url)  # warm up (content types, permissions cache)
    baseline = page_query_count(client, url)
    for number in range(15):
        factories.unit_for(
            alice_org, by=alice, region=regions["grid"], name=f"店{number}", parent=park
        )

    with django_assert_num_queries(baseline):
        response = client.get(url)

    assert len(response.context["rows"]) == 16


def test_unit_list_needs_a_login(client, db):
    response = client.get(reverse("units:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# Creating a unit -----------------------------------------------------------------------------


def test_owner_adds_a_unit_for_the_current_organisation(client_for, alice, alice_org, regions):
    response = client_for(alice).post(reverse("units:create"), unit_payload(regions))

    unit = Unit.objects.get(name="老西门小吃")
    assert response.status_code == 302
    assert response["Location"] == reverse("units:detail", args=[unit.public_id])
    assert unit.organisation == alice_org
    assert unit.region == regions["grid"]
    assert (unit.floor_area_m2, unit.daily_visitors) == (45, 200)
    assert AuditEntry.objects.filter(action="unit.create", target_id=str(unit.pk)).exists()


def test_add_unit_over_htmx_redirects_the_browser(client_for, alice, alice_org, regions):
    response = client_for(alice).post(reverse("units:create"), unit_payload(regions), **HTMX)

    unit = Unit.objects.get(name="老西门小吃")
    assert response["HX-Redirect"] == reverse("units:detail", args=[unit.public_id])


def test_add_unit_form_offers_grids_and_visible_parent_places_only(
    client_for, alice, alice_org, alice_unit, regions, park, charlie_org, charlie
):
    own_estate = factories.unit_for(
        alice_org, by=alice, region=regions["grid"], name="自家小区", kind=Unit.Kind.ESTATE
    )
    charlies_park = factories.unit_for(
        charlie_org, by=charlie, region=regions["grid"], name="别人的园区", kind=Unit.Kind.PARK
    )

    response = client_for(alice).get(reverse("units:create"))

    assert response.status_code == 200
    region_codes = {value for value, _label in response.context["form"].fields["region"].choices}
    assert region_codes == {"", regions["grid"].code}
    body = body_of(response)
    assert str(own_estate.public_id) in body
    assert str(alice_unit.public_id) not in body  # a shop contains nothing
    assert str(charlies_park.public_id) not in body
    assert str(park.public_id) not in body  # pam's park: alice's org has no view of it


def test_add_unit_htmx_get_is_the_form_partial(client_for, alice, alice_org, regions):
    response = client_for(alice).get(reverse("units:create"), **HTMX)

    assert response.status_code == 200
    assert is_partial(response)
    assert b'id="unit-form"' in response.content


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("name", {"name": ""}),
        ("floor_area_m2", {"floor_area_m2": "-5"}),
        ("responsible_phone", {"responsible_phone": "call me"}),
    ],
)
def test_add_unit_bad_input_names_the_field_and_writes_nothing(
    client_for, alice, alice_org, regions, field, overrides
):
    response = client_for(alice).post(reverse("units:create"), unit_payload(regions, **overrides))

    assert response.status_code == 200
    assert f'id="id_{field}_errors"'.encode() in response.content
    assert field in response.context["form"].errors
    assert not Unit.objects.exists()


def test_add_unit_in_a_region_that_is_not_a_grid_is_refused_by_the_service(
    client_for, alice, alice_org, regions
):
    payload = unit_payload(regions, region=regions["subdistrict"].code)

    response = client_for(alice).post(reverse("units:create"), payload, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert b'id="id_region_errors"' in response.content
    assert "grid" in str(response.context["form"].errors["region"])
    assert not Unit.objects.exists()


def test_add_unit_bad_input_over_htmx_returns_the_form_partial(
    client_for, alice, alice_org, regions
):
    response = client_for(alice).post(
        reverse("units:create"), unit_payload(regions, name=""), **HTMX
    )

    assert response.status_code == 200
    assert is_partial(response)
    assert b'id="id_name_errors"' in response.content
    assert not Unit.objects.exists()


def test_add_unit_inside_a_unit_the_organisation_cannot_see_is_refused(
    client_for, alice, alice_org, regions, park
):
    payload = unit_payload(regions, parent=str(park.public_id))

    response = client_for(alice).post(reverse("units:create"), payload)

    assert response.status_code == 200
    assert b'id="id_parent_errors"' in response.content
    assert not Unit.objects.filter(name="老西门小吃").exists()


@pytest.mark.parametrize("persona", ["bob", "vera", "rita", "dan"])
def test_only_owners_and_managers_of_a_unit_organisation_add_units(
    request, client_for, alice_org, authority, desk_org, regions, persona
):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(reverse("units:create")).status_code == 403
    assert client.post(reverse("units:create"), unit_payload(regions)).status_code == 403
    assert not Unit.objects.filter(name="老西门小吃").exists()


# Unit detail ---------------------------------------------------------------------------------


def test_unit_detail_shows_profile_facts_contacts_and_who_can_see_it(
    client_for, alice, alice_unit, authority, responder
):
    contact_for(alice_unit, alice, "张店长")

    response = client_for(alice).get(reverse("units:detail", args=[alice_unit.public_id]))

    assert response.status_code == 200
    body = body_of(response)
    assert alice_unit.address in body and alice_unit.responsible_phone in body
    assert "<td>60</td>" in body  # floor area
    assert "张店长" in body
    assert authority.organisation.name in body
    assert responder.organisation.name in body
    assert reverse("units:edit", args=[alice_unit.public_id]) in body
    assert reverse("units:contact_create", args=[alice_unit.public_id]) in body


def test_park_detail_lists_the_units_inside_and_the_shop_links_its_park(
    client_for, pam, alice, park, shop_in_park
):
    park_page = client_for(pam).get(reverse("units:detail", args=[park.public_id]))
    shop_page = client_for(pam).get(reverse("units:detail", args=[shop_in_park.public_id]))

    assert shop_in_park.name in body_of(park_page)
    assert reverse("units:detail", args=[park.public_id]) in body_of(shop_page)


def test_unit_detail_for_a_viewer_has_no_write_controls(client_for, vera, alice, alice_unit):
    contact = contact_for(alice_unit, alice, "张店长")

    response = client_for(vera).get(reverse("units:detail", args=[alice_unit.public_id]))

    assert response.status_code == 200
    body = body_of(response)
    assert "张店长" in body
    assert reverse("units:edit", args=[alice_unit.public_id]) not in body
    assert reverse("units:contact_create", args=[alice_unit.public_id]) not in body
    assert reverse("units:contact_delete", args=[alice_unit.public_id, contact.pk]) not in body


@pytest.mark.parametrize("persona", ["rita", "dan", "pam"])
def test_granted_organisations_read_the_unit(
    request, client_for, authority, responder, shop_in_park, persona
):
    client = client_for(request.getfixturevalue(persona))

    response = client.get(reverse("units:detail", args=[shop_in_park.public_id]))

    assert response.status_code == 200
    assert reverse("units:edit", args=[shop_in_park.public_id]) not in body_of(response)


def test_unit_detail_htmx_gets_the_contacts_partial(client_for, alice, alice_unit):
    response = client_for(alice).get(reverse("units:detail", args=[alice_unit.public_id]), **HTMX)

    assert response.status_code == 200
    assert is_partial(response)
    assert body_of(response).lstrip().startswith('<section id="contacts">')


# Editing a unit ------------------------------------------------------------------------------


def test_owner_edits_the_unit_profile(client_for, alice, alice_unit, regions):
    url = reverse("units:edit", args=[alice_unit.public_id])
    client = client_for(alice)

    form_page = client.get(url)
    response = client.post(url, unit_payload(regions, name="爱丽丝的新店", floors="3"))

    assert form_page.status_code == 200
    assert form_page.context["form"]["name"].value() == alice_unit.name
    assert response.status_code == 302
    alice_unit.refresh_from_db()
    assert (alice_unit.name, alice_unit.floors) == ("爱丽丝的新店", 3)


def test_edit_form_htmx_get_is_the_form_partial(client_for, alice, alice_unit, regions):
    response = client_for(alice).get(reverse("units:edit", args=[alice_unit.public_id]), **HTMX)

    assert response.status_code == 200
    assert is_partial(response)
    assert f'value="{regions["grid"].code}" selected' in body_of(response)


def test_edit_into_a_region_that_is_not_a_grid_changes_nothing(
    client_for, alice, alice_unit, regions
):
    url = reverse("units:edit", args=[alice_unit.public_id])
    payload = unit_payload(regions, name="改名", region=regions["district"].code)

    response = client_for(alice).post(url, payload)

    assert response.status_code == 200
    assert b'id="id_region_errors"' in response.content
    alice_unit.refresh_from_db()
    assert (alice_unit.name, alice_unit.region) == ("Alice's shop", regions["grid"])


def test_edit_with_a_negative_floor_area_changes_nothing(client_for, alice, alice_unit, regions):
    url = reverse("units:edit", args=[alice_unit.public_id])

    response = client_for(alice).post(url, unit_payload(regions, floor_area_m2="-1"), **HTMX)

    assert response.status_code == 200
    assert is_partial(response)
    assert b'id="id_floor_area_m2_errors"' in response.content
    alice_unit.refresh_from_db()
    assert alice_unit.floor_area_m2 == 60


@pytest.mark.parametrize("persona", ["bob", "vera", "rita", "dan", "pam"])
def test_who_may_read_but_not_manage_gets_403_on_edit(
    request, client_for, authority, responder, shop_in_park, regions, persona
):
    client = client_for(request.getfixturevalue(persona))
    url = reverse("units:edit", args=[shop_in_park.public_id])

    assert client.get(url).status_code == 403
    assert client.post(url, unit_payload(regions, name="被改了")).status_code == 403
    shop_in_park.refresh_from_db()
    assert shop_in_park.name == "田子坊里的小店"


def test_outsider_gets_404_on_every_unit_page(client_for, charlie, alice, alice_unit, regions):
    contact = contact_for(alice_unit, alice, "张店长")
    client = client_for(charlie)
    unit_id = alice_unit.public_id
    gets = [
        reverse("units:detail", args=[unit_id]),
        reverse("units:edit", args=[unit_id]),
        reverse("units:contact_create", args=[unit_id]),
        reverse("units:contact_edit", args=[unit_id, contact.pk]),
    ]
    posts = {
        reverse("units:edit", args=[unit_id]): unit_payload(regions, name="charlie was here"),
        reverse("units:contact_create", args=[unit_id]): {"name": "C", "phone": "13700000009"},
        reverse("units:contact_edit", args=[unit_id, contact.pk]): {"name": "C", "phone": "1370"},
        reverse("units:contact_delete", args=[unit_id, contact.pk]): {},
        reverse("units:contact_move", args=[unit_id, contact.pk]): {"direction": "down"},
    }

    for url in gets:
        assert client.get(url).status_code == 404, url
        assert client.get(url, **HTMX).status_code == 404, url
    for url, data in posts.items():
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, **HTMX).status_code == 404, url
    alice_unit.refresh_from_db()
    assert alice_unit.name == "Alice's shop"
    assert list(EmergencyContact.objects.values_list("name", flat=True)) == ["张店长"]


# Emergency contacts --------------------------------------------------------------------------


def contacts_url(name, unit, *args):
    return reverse(f"units:{name}", args=[unit.public_id, *args])


def test_staff_adds_a_contact_without_javascript(client_for, bob, alice_unit):
    response = client_for(bob).post(
        contacts_url("contact_create", alice_unit),
        {"name": "夜班保安", "relation": "保安", "phone": "13700000001", "email": ""},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("units:detail", args=[alice_unit.public_id]))
    contact = alice_unit.contacts.get()
    assert (contact.name, contact.position, contact.relation) == ("夜班保安", 1, "保安")


def test_add_contact_over_htmx_returns_the_refreshed_contacts_partial(
    client_for, bob, alice, alice_unit
):
    contact_for(alice_unit, alice, "第一联系人")

    response = client_for(bob).post(
        contacts_url("contact_create", alice_unit),
        {"name": "第二联系人", "phone": "13700000002"},
        **HTMX,
    )

    assert response.status_code == 200
    assert is_partial(response)
    body = body_of(response)
    assert body.index("第一联系人") < body.index("第二联系人")
    assert 'id="contact-form"' not in body


def test_add_contact_form_opens_inline_for_htmx_and_as_a_page_without(client_for, bob, alice_unit):
    client = client_for(bob)
    url = contacts_url("contact_create", alice_unit)

    partial = client.get(url, **HTMX)
    page = client.get(url)

    assert is_partial(partial) and b'id="contact-form"' in partial.content
    assert not is_partial(page) and b'id="contact-form"' in page.content
    assert alice_unit.address.encode() in page.content  # the whole detail page around it


@pytest.mark.parametrize(
    ("field", "data"),
    [("name", {"name": "", "phone": "13700000001"}), ("phone", {"name": "甲", "phone": "x"})],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_add_contact_bad_input_names_the_field_and_writes_nothing(
    client_for, bob, alice_unit, field, data, headers
):
    response = client_for(bob).post(contacts_url("contact_create", alice_unit), data, **headers)

    assert response.status_code == 200
    assert f'id="id_{field}_errors"'.encode() in response.content
    assert is_partial(response) == bool(headers)
    assert not EmergencyContact.objects.exists()


def test_staff_edits_a_contact(client_for, bob, alice, alice_unit):
    contact = contact_for(alice_unit, alice, "张店长")
    client = client_for(bob)
    url = contacts_url("contact_edit", alice_unit, contact.pk)

    form = client.get(url, **HTMX)
    response = client.post(url, {"name": "张经理", "phone": "13700000099"}, **HTMX)

    assert is_partial(form) and 'value="张店长"' in body_of(form)
    assert response.status_code == 200 and "张经理" in body_of(response)
    contact.refresh_from_db()
    assert (contact.name, contact.phone) == ("张经理", "13700000099")


def test_edit_contact_with_a_bad_phone_changes_nothing(client_for, bob, alice, alice_unit):
    contact = contact_for(alice_unit, alice, "张店长", phone="13700000000")

    response = client_for(bob).post(
        contacts_url("contact_edit", alice_unit, contact.pk), {"name": "张店长", "phone": "?"}
    )

    assert response.status_code == 200
    assert b'id="id_phone_errors"' in response.content
    contact.refresh_from_db()
    assert contact.phone == "13700000000"


def test_staff_deletes_a_contact_and_the_rest_close_ranks(client_for, bob, alice, alice_unit):
    first = contact_for(alice_unit, alice, "甲")
    second = contact_for(alice_unit, alice, "乙")

    response = client_for(bob).post(contacts_url("contact_delete", alice_unit, first.pk))

    assert response.status_code == 302
    assert list(alice_unit.contacts.values_list("name", "position")) == [("乙", 1)]
    assert not EmergencyContact.objects.filter(pk=first.pk).exists()
    second.refresh_from_db()
    assert second.position == 1


def test_contacts_move_up_and_down(client_for, bob, alice, alice_unit):
    first, second, third = (contact_for(alice_unit, alice, name) for name in "甲乙丙")
    client = client_for(bob)

    up = client.post(contacts_url("contact_move", alice_unit, third.pk), {"direction": "up"})
    down = client.post(
        contacts_url("contact_move", alice_unit, first.pk), {"direction": "down"}, **HTMX
    )

    assert up.status_code == 302
    assert down.status_code == 200 and is_partial(down)
    assert list(alice_unit.contacts.order_by("position").values_list("name", flat=True)) == [
        "丙",
        "甲",
        "乙",
    ]
    body = body_of(down)
    assert body.index("丙") < body.index("甲") < body.index("乙")


def test_moving_the_first_contact_up_explains_and_changes_nothing(
    client_for, bob, alice, alice_unit
):
    first = contact_for(alice_unit, alice, "甲")
    contact_for(alice_unit, alice, "乙")

    response = client_for(bob).post(
        contacts_url("contact_move", alice_unit, first.pk), {"direction": "up"}, **HTMX
    )

    assert response.status_code == 200
    assert b'id="contacts-error"' in response.content
    assert list(alice_unit.contacts.order_by("position").values_list("name", flat=True)) == [
        "甲",
        "乙",
    ]


def test_a_contact_is_only_reached_through_its_own_unit(
    client_for, alice, alice_unit, charlie, charlie_unit
):
    charlies_contact = contact_for(charlie_unit, charlie, "查理")
    client = client_for(alice)

    edit = client.post(
        contacts_url("contact_edit", alice_unit, charlies_contact.pk),
        {"name": "x", "phone": "13700000000"},
    )
    delete = client.post(contacts_url("contact_delete", alice_unit, charlies_contact.pk))

    assert (edit.status_code, delete.status_code) == (404, 404)
    charlies_contact.refresh_from_db()
    assert charlies_contact.name == "查理"


@pytest.mark.parametrize("persona", ["vera", "rita", "pam"])
def test_readers_get_403_on_every_contact_write(
    request, client_for, alice, authority, shop_in_park, persona
):
    contact = contact_for(shop_in_park, alice, "张店长")
    client = client_for(request.getfixturevalue(persona))
    writes = {
        contacts_url("contact_create", shop_in_park): {"name": "新", "phone": "13700000001"},
        contacts_url("contact_edit", shop_in_park, contact.pk): {"name": "改", "phone": "1370000"},
        contacts_url("contact_delete", shop_in_park, contact.pk): {},
        contacts_url("contact_move", shop_in_park, contact.pk): {"direction": "down"},
    }

    assert client.get(contacts_url("contact_create", shop_in_park)).status_code == 403
    for url, data in writes.items():
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **HTMX).status_code == 403, url
    assert list(EmergencyContact.objects.values_list("name", flat=True)) == ["张店长"]


# Region browser ------------------------------------------------------------------------------


def test_authority_starts_at_its_region(
    client_for, rita, authority, regions, alice_unit, charlie_unit
):
    response = client_for(rita).get(reverse("units:regions"))

    assert response.status_code == 200
    assert response.context["region"] == regions["district"]
    body = body_of(response)
    assert regions["city"].name in body  # breadcrumb, named
    assert reverse("units:region", args=[regions["city"].code]) not in body  # but not browsable
    assert reverse("units:region", args=[regions["subdistrict"].code]) in body
    children = list(response.context["children"])
    assert [(child, child.unit_count) for child in children] == [(regions["subdistrict"], 1)]
    assert alice_unit.name in body and charlie_unit.name not in body
    assert dict(response.context["kind_counts"])[Unit.Kind.SHOP.label] == 1
    assert response.context["unit_total"] == 1


def test_authority_browses_down_to_a_grid(client_for, rita, authority, regions, alice_unit):
    response = client_for(rita).get(reverse("units:region", args=[regions["grid"].code]))

    assert response.status_code == 200
    body = body_of(response)
    for level in ("district", "subdistrict"):
        assert reverse("units:region", args=[regions[level].code]) in body
    assert alice_unit.name in body


def test_region_outside_the_jurisdiction_is_404(client_for, rita, authority, other_regions):
    client = client_for(rita)

    assert client.get(reverse("units:region", args=[other_regions["grid"].code])).status_code == 404
    assert client.get(reverse("units:region", args=["310000"])).status_code == 404
    assert client.get(reverse("units:region", args=["999999"])).status_code == 404


@pytest.mark.parametrize("persona", ["alice", "charlie", "dan"])
def test_region_browser_is_404_for_non_authority_users(
    request, client_for, alice_unit, charlie_unit, desk_org, regions, persona
):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(reverse("units:regions")).status_code == 404
    assert client.get(reverse("units:region", args=[regions["grid"].code])).status_code == 404


def test_region_units_htmx_gets_the_units_partial(client_for, rita, authority, alice_unit):
    response = client_for(rita).get(reverse("units:regions"), {"page": 1}, **HTMX)

    assert response.status_code == 200
    assert is_partial(response)
    assert b'id="region-units"' in response.content
    assert alice_unit.name in body_of(response)


def test_region_browser_query_count_stays_constant_as_units_and_regions_grow(
    client_for, rita, authority, alice, alice_org, alice_unit, regions, django_assert_num_queries
):
    client = client_for(rita)
    url = reverse("units:regions")
    client.get(url)
    baseline = page_query_count(client, url)
    for number in range(3, 7):
        subdistrict = services.region_create(
            code=f"310101{number:03}",
            name=f"街道{number}",
            level=Region.Level.SUBDISTRICT,
            parent=regions["district"],
        )
        grid = services.region_create(
            code=f"{subdistrict.code}001",
            name=f"网格{number}",
            level=Region.Level.GRID,
            parent=subdistrict,
        )
        for kind in (Unit.Kind.SHOP, Unit.Kind.ESTATE, Unit.Kind.BUILDING):
            factories.unit_for(alice_org, by=alice, region=grid, name=f"{kind}{number}", kind=kind)

    with django_assert_num_queries(baseline):
        response = client.get(url)

    assert response.context["unit_total"] == 13
    assert len(response.context["children"]) == 5


# Responders ----------------------------------------------------------------------------------


def test_duty_desk_sees_its_responder_with_regions_and_who_is_on_duty(
    client_for, dan, responder, shift_now, regions
):
    response = client_for(dan).get(reverse("units:responders"))

    assert response.status_code == 200
    body = body_of(response)
    assert responder.name in body
    assert responder.get_kind_display() in body
    assert regions["subdistrict"].name in body
    assert "王队长" in body and "13900000001" in body
    assert reverse("units:roster", args=[responder.public_id]) in body


def test_authority_sees_responders_of_its_region_only(
    client_for, rita, authority, responder, other_responder
):
    body = body_of(client_for(rita).get(reverse("units:responders")))

    assert responder.name in body
    assert other_responder.name not in body


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_units_and_outsiders_see_no_responders(request, client_for, alice_unit, responder, persona):
    response = client_for(request.getfixturevalue(persona)).get(reverse("units:responders"))

    assert response.status_code == 200
    assert responder.name not in body_of(response)


def test_responder_list_htmx_gets_the_results_partial(client_for, dan, responder, shift_now):
    response = client_for(dan).get(reverse("units:responders"), **HTMX)

    assert response.status_code == 200
    assert is_partial(response)
    assert body_of(response).lstrip().startswith('<section id="results">')
    assert "王队长" in body_of(response)


def test_responder_list_query_count_stays_constant(
    client_for, rita, authority, responder, regions, django_assert_num_queries
):
    client = client_for(rita)
    url = reverse("units:responders")
    client.get(url)
    baseline = page_query_count(client, url)
    now = timezone.now()
    for number in range(5):
        owner = factories.UserFactory()
        organisation = factories.organisation_for(owner, kind="responder")
        extra = services.responder_create(
            organisation=organisation,
            name=f"物业{number}",
            kind="property_management",
            phone="021-11111111",
            regions=[regions["subdistrict"], regions["grid"]],
        )
        services.duty_shift_create(
            responder=extra,
            by=owner,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
            contact_name=f"值班{number}",
            contact_phone="13900000000",
        )

    with django_assert_num_queries(baseline):
        response = client.get(url)

    assert "值班4" in body_of(response)


# Duty roster ---------------------------------------------------------------------------------


def roster_url(name, responder, *args):
    return reverse(f"units:{name}", args=[responder.public_id, *args])


def test_roster_shows_current_and_upcoming_shifts_in_shanghai_time(
    client_for, dan, responder, shift_now
):
    past = services.duty_shift_create(
        responder=responder,
        by=dan,
        starts_at=timezone.now() - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=1),
        contact_name="上周的人",
        contact_phone="13900000003",
    )
    upcoming = services.duty_shift_create(
        responder=responder,
        by=dan,
        starts_at=tomorrow_at(8),
        ends_at=tomorrow_at(20),
        contact_name="明天的人",
        contact_phone="13900000004",
        note="节假日",
    )

    response = client_for(dan).get(roster_url("roster", responder))

    assert response.status_code == 200
    body = body_of(response)
    assert "王队长" in body and "明天的人" in body and "节假日" in body
    assert past.contact_name not in body
    assert tomorrow_at(8).strftime("%Y-%m-%d 08:00") in body
    assert body.index("王队长") < body.index("明天的人")
    assert roster_url("shift_edit", responder, upcoming.pk) in body


def test_staff_adds_a_shift_entered_in_shanghai_time(client_for, dora, responder):
    response = client_for(dora).post(roster_url("shift_create", responder), shift_payload())

    assert response.status_code == 302
    assert response["Location"] == roster_url("roster", responder)
    shift = responder.shifts.get()
    assert shift.starts_at == tomorrow_at(8)
    assert shift.starts_at.astimezone(ZoneInfo("UTC")).hour == 0
    assert (shift.contact_name, shift.note) == ("赵值班", "夜班交接")


def test_add_shift_over_htmx_returns_the_roster_partial(client_for, dora, responder):
    client = client_for(dora)

    form = client.get(roster_url("shift_create", responder), **HTMX)
    response = client.post(roster_url("shift_create", responder), shift_payload(), **HTMX)

    assert is_partial(form) and b'type="datetime-local"' in form.content
    assert response.status_code == 200 and is_partial(response)
    assert "赵值班" in body_of(response)
    assert responder.shifts.count() == 1


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("ends_at", {"ends_at": local_input(tomorrow_at(7))}),
        ("contact_name", {"contact_name": ""}),
        ("starts_at", {"starts_at": "tomorrow morning"}),
        ("contact_phone", {"contact_phone": "phone"}),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_add_shift_bad_input_names_the_field_and_writes_nothing(
    client_for, dora, responder, field, overrides, headers
):
    response = client_for(dora).post(
        roster_url("shift_create", responder), shift_payload(**overrides), **headers
    )

    assert response.status_code == 200
    assert f'id="id_{field}_errors"'.encode() in response.content
    assert is_partial(response) == bool(headers)
    assert not DutyShift.objects.exists()


def test_staff_edits_a_shift(client_for, dora, responder, shift_now):
    url = roster_url("shift_edit", responder, shift_now.pk)
    client = client_for(dora)

    form = client.get(url)
    response = client.post(url, shift_payload(contact_name="钱值班"), **HTMX)

    shown = shift_now.starts_at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{shown}"' in body_of(form)
    assert response.status_code == 200 and "钱值班" in body_of(response)
    shift_now.refresh_from_db()
    assert (shift_now.contact_name, shift_now.starts_at) == ("钱值班", tomorrow_at(8))


def test_edit_shift_ending_before_it_starts_changes_nothing(client_for, dora, responder, shift_now):
    before = (shift_now.starts_at, shift_now.ends_at)
    payload = shift_payload(
        starts_at=local_input(tomorrow_at(9)), ends_at=local_input(tomorrow_at(8))
    )

    response = client_for(dora).post(roster_url("shift_edit", responder, shift_now.pk), payload)

    assert response.status_code == 200
    assert b'id="id_ends_at_errors"' in response.content
    shift_now.refresh_from_db()
    assert (shift_now.starts_at, shift_now.ends_at) == before


def test_staff_deletes_a_shift(client_for, dora, responder, shift_now):
    response = client_for(dora).post(roster_url("shift_delete", responder, shift_now.pk))

    assert response.status_code == 302
    assert not DutyShift.objects.exists()


@pytest.mark.parametrize("persona", ["rita", "victor"])
def test_authority_and_viewer_read_the_roster_but_get_403_on_writes(
    request, client_for, authority, responder, shift_now, persona
):
    client = client_for(request.getfixturevalue(persona))

    page = client.get(roster_url("roster", responder))
    writes = {
        roster_url("shift_create", responder): shift_payload(),
        roster_url("shift_edit", responder, shift_now.pk): shift_payload(contact_name="改"),
        roster_url("shift_delete", responder, shift_now.pk): {},
    }

    assert page.status_code == 200 and "王队长" in body_of(page)
    assert roster_url("shift_create", responder) not in body_of(page)
    assert client.get(roster_url("shift_create", responder)).status_code == 403
    for url, data in writes.items():
        assert client.post(url, data).status_code == 403, url
        assert client.post(url, data, **HTMX).status_code == 403, url
    assert list(DutyShift.objects.values_list("contact_name", flat=True)) == ["王队长"]


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_others_get_404_on_every_roster_page(
    request, client_for, alice_unit, responder, shift_now, persona
):
    client = client_for(request.getfixturevalue(persona))
    gets = [
        roster_url("roster", responder),
        roster_url("shift_create", responder),
        roster_url("shift_edit", responder, shift_now.pk),
    ]
    posts = {
        roster_url("shift_create", responder): shift_payload(),
        roster_url("shift_edit", responder, shift_now.pk): shift_payload(contact_name="改"),
        roster_url("shift_delete", responder, shift_now.pk): {},
    }

    for url in gets:
        assert client.get(url).status_code == 404, url
        assert client.get(url, **HTMX).status_code == 404, url
    for url, data in posts.items():
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, **HTMX).status_code == 404, url
    assert list(DutyShift.objects.values_list("contact_name", flat=True)) == ["王队长"]


def test_a_shift_is_only_reached_through_its_own_responder(
    client_for, dan, responder, other_responder
):
    stranger = other_responder.organisation.memberships.get().user
    foreign_shift = services.duty_shift_create(
        responder=other_responder,
        by=stranger,
        starts_at=tomorrow_at(8),
        ends_at=tomorrow_at(20),
        contact_name="静安值班",
        contact_phone="13900000005",
    )

    response = client_for(dan).post(roster_url("shift_delete", responder, foreign_shift.pk))

    assert response.status_code == 404
    assert DutyShift.objects.filter(pk=foreign_shift.pk).exists()


def test_roster_htmx_gets_the_roster_partial(client_for, rita, authority, responder, shift_now):
    response = client_for(rita).get(roster_url("roster", responder), **HTMX)

    assert response.status_code == 200
    assert is_partial(response)
    assert body_of(response).lstrip().startswith('<section id="roster">')


def test_roster_query_count_stays_constant_as_shifts_grow(
    client_for, dan, responder, shift_now, django_assert_num_queries
):
    client = client_for(dan)
    url = roster_url("roster", responder)
    client.get(url)
    baseline = page_query_count(client, url)
    for day in range(2, 22):
        start = tomorrow_at(8) + timedelta(days=day)
        services.duty_shift_create(
            responder=responder,
            by=dan,
            starts_at=start,
            ends_at=start + timedelta(hours=12),
            contact_name=f"值班{day}",
            contact_phone="13900000000",
        )

    with django_assert_num_queries(baseline):
        response = client.get(url)

    assert len(response.context["page_obj"].object_list) == 21
