"""The units API: units, emergency contacts, responders and their rosters.

alice owns alice_org (and, here, a fire station's duty desk), bob is staff in both, vera a
viewer in both; charlie runs another shop and gets 404 on every object endpoint of theirs.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEntry, Membership, Organisation
from tests import factories
from units import services
from units.models import DutyShift, EmergencyContact, Responder, Unit

Role = Membership.Role


@pytest.fixture
def desk_org(alice, bob, vera):
    organisation = factories.organisation_for(
        alice, kind=Organisation.Kind.RESPONDER, name="黄浦消防站"
    )
    factories.member_add(organisation, bob, Role.STAFF)
    factories.member_add(organisation, vera, Role.VIEWER)
    return organisation


@pytest.fixture
def desk(desk_org, regions):
    return services.responder_create(
        organisation=desk_org,
        name="黄浦消防站值班台",
        kind=Responder.Kind.FIRE_STATION,
        phone="021-119",
        regions=[regions["subdistrict"]],
    )


@pytest.fixture
def contacts(alice_unit, alice):
    return [
        services.contact_create(unit=alice_unit, by=alice, name=name, phone=phone)
        for name, phone in [("王店长", "13800000001"), ("夜班保安", "13800000002"), ("李", "021-1")]
    ]


def _shift(desk, by, *, starts_in_hours=-1, hours=8, name="张队长"):
    starts_at = timezone.now() + timedelta(hours=starts_in_hours)
    return services.duty_shift_create(
        responder=desk,
        by=by,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        contact_name=name,
        contact_phone="13900000000",
    )


def _unit_payload(organisation, grid, **overrides):
    payload = {
        "organisation": str(organisation.public_id),
        "region": grid.code,
        "name": "新天地某店",
        "kind": "shop",
        "address": "马当路1号",
        "floor_area_m2": 40,
        "responsible_name": "李四",
        "responsible_phone": "13900000000",
    }
    payload.update(overrides)
    return payload


def _unit_url(unit):
    return f"/api/v1/units/{unit.public_id}/"


def _contacts_url(unit, contact=None, action=""):
    base = f"/api/v1/units/{unit.public_id}/contacts/"
    return f"{base}{contact.pk}/{action}" if contact else base


def _shifts_url(responder, shift=None):
    base = f"/api/v1/responders/{responder.public_id}/shifts/"
    return f"{base}{shift.pk}/" if shift else base


def _query_count(client, url) -> int:
    client.get(url)  # warm up: the first use of a token stamps last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


# Units: list and create ------------------------------------------------------------------------


def test_units_lists_only_units_i_can_see(alice_unit, charlie_unit, vera, charlie, api_client_for):
    vera_ids = [row["id"] for row in api_client_for(vera).get("/api/v1/units/").json()["results"]]
    charlie_ids = [
        row["id"] for row in api_client_for(charlie).get("/api/v1/units/").json()["results"]
    ]

    assert vera_ids == [str(alice_unit.public_id)]
    assert charlie_ids == [str(charlie_unit.public_id)]


def test_units_are_paged_with_a_cursor(alice_org, alice, regions, api_client_for):
    for number in range(5):
        factories.unit_for(alice_org, by=alice, region=regions["grid"], name=f"店{number}")
    client = api_client_for(alice)

    first = client.get("/api/v1/units/?page_size=3").json()
    second = client.get(first["next"]).json()

    names = [row["name"] for row in first["results"] + second["results"]]
    assert sorted(names) == [f"店{number}" for number in range(5)]
    assert second["next"] is None


def test_units_list_query_count_is_constant(
    alice_unit, alice_org, alice, regions, api_client_for, django_assert_num_queries
):
    park = factories.unit_for(alice_org, by=alice, region=regions["grid"], name="园", kind="park")
    client = api_client_for(alice)
    before = _query_count(client, "/api/v1/units/")

    for number in range(6):
        factories.unit_for(
            alice_org, by=alice, region=regions["grid"], name=f"铺{number}", parent=park
        )

    with django_assert_num_queries(before):
        response = client.get("/api/v1/units/")
    assert len(response.json()["results"]) == 8
    assert {row["parent"] for row in response.json()["results"]} == {None, str(park.public_id)}


def test_owner_registers_a_unit_inside_a_park(alice_org, alice, regions, api_client_for):
    park = factories.unit_for(
        alice_org, by=alice, region=regions["grid"], name="田子坊", kind="park"
    )

    response = api_client_for(alice).post(
        "/api/v1/units/",
        _unit_payload(alice_org, regions["grid"], parent=str(park.public_id), floors=3),
        format="json",
    )

    assert response.status_code == 201
    unit = Unit.objects.get(public_id=response.json()["id"])
    assert (unit.name, unit.organisation, unit.region, unit.parent, unit.floors) == (
        "新天地某店",
        alice_org,
        regions["grid"],
        park,
        3,
    )
    body = response.json()
    assert body["region"] == regions["grid"].code
    assert body["parent"] == str(park.public_id)
    assert body["organisation"] == str(alice_org.public_id)


def test_viewer_may_not_register_a_unit(alice_org, vera, regions, api_client_for):
    response = api_client_for(vera).post(
        "/api/v1/units/", _unit_payload(alice_org, regions["grid"]), format="json"
    )

    assert response.status_code == 403
    assert Unit.objects.count() == 0


def test_a_unit_cannot_be_registered_for_someone_elses_organisation(
    alice_org, charlie, regions, api_client_for
):
    response = api_client_for(charlie).post(
        "/api/v1/units/", _unit_payload(alice_org, regions["grid"]), format="json"
    )

    assert response.status_code == 400
    assert "organisation" in response.json()
    assert Unit.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": None}, "name"),
        ({"floor_area_m2": -5}, "floor_area_m2"),
        ({"floor_area_m2": 0}, "floor_area_m2"),
        ({"region": "999999"}, "region"),
        ({"responsible_phone": "call me"}, "responsible_phone"),
        ({"kind": "castle"}, "kind"),
    ],
)
def test_bad_unit_input_is_400_naming_the_field(
    alice_org, alice, regions, api_client_for, overrides, field
):
    payload = _unit_payload(alice_org, regions["grid"], **overrides)
    payload = {key: value for key, value in payload.items() if value is not None}
    client = api_client_for(alice)
    audit_before = AuditEntry.objects.count()

    response = client.post("/api/v1/units/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Unit.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before


def test_a_region_that_is_not_a_grid_is_400_naming_region(
    alice_org, alice, regions, api_client_for
):
    response = api_client_for(alice).post(
        "/api/v1/units/", _unit_payload(alice_org, regions["subdistrict"]), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["region"]
    assert Unit.objects.count() == 0


def test_a_parent_i_cannot_see_is_400_naming_parent(
    alice_org, alice, charlie_unit, regions, api_client_for
):
    response = api_client_for(alice).post(
        "/api/v1/units/",
        _unit_payload(alice_org, regions["grid"], parent=str(charlie_unit.public_id)),
        format="json",
    )

    assert response.status_code == 400
    assert "parent" in response.json()
    assert not Unit.objects.filter(organisation=alice_org).exists()


# Units: one unit -------------------------------------------------------------------------------


def test_members_read_a_unit_and_outsiders_get_404(alice_unit, vera, charlie, api_client_for):
    response = api_client_for(vera).get(_unit_url(alice_unit))

    assert response.status_code == 200
    assert response.json()["name"] == "Alice's shop"
    assert response.json()["floor_area_m2"] == 60
    assert api_client_for(charlie).get(_unit_url(alice_unit)).status_code == 404


def test_owner_changes_a_units_facts(alice_unit, alice, api_client_for):
    response = api_client_for(alice).patch(
        _unit_url(alice_unit), {"floor_area_m2": 80, "elevators": 1}, format="json"
    )

    assert response.status_code == 200
    alice_unit.refresh_from_db()
    assert (alice_unit.floor_area_m2, alice_unit.elevators, alice_unit.floors) == (80, 1, 2)
    assert response.json()["floor_area_m2"] == 80


def test_staff_and_viewer_may_not_change_a_unit(alice_unit, bob, vera, api_client_for):
    for user in (bob, vera):
        response = api_client_for(user).patch(
            _unit_url(alice_unit), {"floor_area_m2": 999}, format="json"
        )
        assert response.status_code == 403
    alice_unit.refresh_from_db()
    assert alice_unit.floor_area_m2 == 60


def test_outsider_gets_404_changing_a_unit(alice_unit, charlie, api_client_for):
    response = api_client_for(charlie).patch(
        _unit_url(alice_unit), {"floor_area_m2": 999}, format="json"
    )

    assert response.status_code == 404
    alice_unit.refresh_from_db()
    assert alice_unit.floor_area_m2 == 60


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"floor_area_m2": -1}, "floor_area_m2"), ({"region": "310101002"}, "region")],
)
def test_bad_unit_changes_are_400_naming_the_field(
    alice_unit, alice, regions, api_client_for, changes, field
):
    response = api_client_for(alice).patch(_unit_url(alice_unit), changes, format="json")

    assert response.status_code == 400
    assert field in response.json()
    alice_unit.refresh_from_db()
    assert (alice_unit.floor_area_m2, alice_unit.region) == (60, regions["grid"])


def test_a_covering_fire_station_reads_but_cannot_write(
    alice_unit, contacts, regions, api_client_for
):
    dan = factories.UserFactory(email="dan@fire.example.cn")
    station = factories.organisation_for(dan, kind=Organisation.Kind.RESPONDER)
    services.responder_create(
        organisation=station,
        name="消防站",
        kind=Responder.Kind.FIRE_STATION,
        phone="021-96119",
        regions=[regions["subdistrict"]],
    )
    client = api_client_for(dan)

    assert client.get(_unit_url(alice_unit)).status_code == 200
    assert [row["name"] for row in client.get(_contacts_url(alice_unit)).json()] == [
        "王店长",
        "夜班保安",
        "李",
    ]
    assert client.patch(_unit_url(alice_unit), {"floors": 9}, format="json").status_code == 403
    response = client.post(
        _contacts_url(alice_unit), {"name": "x", "phone": "021-96119"}, format="json"
    )
    assert response.status_code == 403
    assert alice_unit.contacts.count() == 3


# Emergency contacts ----------------------------------------------------------------------------


def test_contacts_are_listed_in_calling_order(alice_unit, contacts, vera, charlie, api_client_for):
    response = api_client_for(vera).get(_contacts_url(alice_unit))

    assert response.status_code == 200
    assert [(row["position"], row["name"]) for row in response.json()] == [
        (1, "王店长"),
        (2, "夜班保安"),
        (3, "李"),
    ]
    assert api_client_for(charlie).get(_contacts_url(alice_unit)).status_code == 404


def test_contacts_list_query_count_is_constant(
    alice_unit, alice, api_client_for, django_assert_num_queries
):
    services.contact_create(unit=alice_unit, by=alice, name="一", phone="13800000001")
    client = api_client_for(alice)
    before = _query_count(client, _contacts_url(alice_unit))

    for number in range(5):
        services.contact_create(unit=alice_unit, by=alice, name=f"人{number}", phone="13800000009")

    with django_assert_num_queries(before):
        response = client.get(_contacts_url(alice_unit))
    assert len(response.json()) == 6


def test_staff_adds_a_contact_called_last(alice_unit, contacts, bob, api_client_for):
    response = api_client_for(bob).post(
        _contacts_url(alice_unit),
        {"name": "物业", "phone": "021-6333", "relation": "property office"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["position"] == 4
    contact = alice_unit.contacts.get(name="物业")
    assert (contact.position, contact.phone, contact.relation) == (4, "021-6333", "property office")


def test_viewer_and_outsider_may_not_add_contacts(alice_unit, vera, charlie, api_client_for):
    payload = {"name": "物业", "phone": "021-6333"}

    assert api_client_for(vera).post(_contacts_url(alice_unit), payload).status_code == 403
    assert api_client_for(charlie).post(_contacts_url(alice_unit), payload).status_code == 404
    assert EmergencyContact.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "物业"}, "phone"),
        ({"phone": "13800000000"}, "name"),
        ({"name": "物业", "phone": "not a phone"}, "phone"),
        ({"name": "物业", "phone": "13800000000", "email": "nope"}, "email"),
    ],
)
def test_bad_contact_input_is_400_naming_the_field(
    alice_unit, alice, api_client_for, payload, field
):
    response = api_client_for(alice).post(_contacts_url(alice_unit), payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert EmergencyContact.objects.count() == 0


def test_staff_changes_a_contact(alice_unit, contacts, bob, api_client_for):
    response = api_client_for(bob).patch(
        _contacts_url(alice_unit, contacts[0]), {"phone": "13811112222"}, format="json"
    )

    assert response.status_code == 200
    contacts[0].refresh_from_db()
    assert (contacts[0].name, contacts[0].phone) == ("王店长", "13811112222")


def test_viewer_gets_403_and_outsider_404_changing_or_removing_a_contact(
    alice_unit, contacts, vera, charlie, api_client_for
):
    url = _contacts_url(alice_unit, contacts[0])
    for client, expected in ((api_client_for(vera), 403), (api_client_for(charlie), 404)):
        assert client.patch(url, {"name": "改"}, format="json").status_code == expected
        assert client.delete(url).status_code == expected
        assert client.post(f"{url}move/", {"position": 3}, format="json").status_code == expected
    assert [(c.position, c.name) for c in alice_unit.contacts.order_by("position")] == [
        (1, "王店长"),
        (2, "夜班保安"),
        (3, "李"),
    ]


def test_a_contact_of_another_unit_is_404(alice_unit, charlie_unit, charlie, alice, api_client_for):
    theirs = services.contact_create(unit=charlie_unit, by=charlie, name="C", phone="13800000000")

    response = api_client_for(alice).delete(
        f"/api/v1/units/{alice_unit.public_id}/contacts/{theirs.pk}/"
    )

    assert response.status_code == 404
    assert EmergencyContact.objects.filter(pk=theirs.pk).exists()


def test_removing_a_contact_closes_the_gap(alice_unit, contacts, bob, api_client_for):
    response = api_client_for(bob).delete(_contacts_url(alice_unit, contacts[0]))

    assert response.status_code == 204
    assert [(c.position, c.name) for c in alice_unit.contacts.order_by("position")] == [
        (1, "夜班保安"),
        (2, "李"),
    ]


def test_moving_a_contact_reorders_the_calling_list(alice_unit, contacts, bob, api_client_for):
    response = api_client_for(bob).post(
        _contacts_url(alice_unit, contacts[2], "move/"), {"position": 1}, format="json"
    )

    assert response.status_code == 200
    assert [(row["position"], row["name"]) for row in response.json()] == [
        (1, "李"),
        (2, "王店长"),
        (3, "夜班保安"),
    ]
    assert list(alice_unit.contacts.order_by("position").values_list("name", flat=True)) == [
        "李",
        "王店长",
        "夜班保安",
    ]


@pytest.mark.parametrize("payload", [{"position": 0}, {"position": 4}, {}])
def test_a_bad_position_is_400_naming_position(alice_unit, contacts, bob, api_client_for, payload):
    response = api_client_for(bob).post(
        _contacts_url(alice_unit, contacts[0], "move/"), payload, format="json"
    )

    assert response.status_code == 400
    assert "position" in response.json()
    assert [c.name for c in alice_unit.contacts.order_by("position")] == [
        "王店长",
        "夜班保安",
        "李",
    ]


# Responders ------------------------------------------------------------------------------------


def test_responders_show_coverage_and_who_is_on_duty(desk, alice, regions, api_client_for):
    _shift(desk, alice, starts_in_hours=-2, hours=4, name="张队长")
    _shift(desk, alice, starts_in_hours=5, hours=4, name="李队长")
    client = api_client_for(alice)

    listed = client.get("/api/v1/responders/").json()["results"]
    detail = client.get(f"/api/v1/responders/{desk.public_id}/").json()

    assert listed == [detail]
    assert detail["id"] == str(desk.public_id)
    assert (detail["kind"], detail["phone"]) == ("fire_station", "021-119")
    assert detail["regions"] == [regions["subdistrict"].code]
    assert detail["on_duty_now"] is True
    assert detail["current_shift"]["contact_name"] == "张队长"


def test_a_desk_without_a_current_shift_is_off_duty(desk, alice, api_client_for):
    _shift(desk, alice, starts_in_hours=5, hours=4)

    detail = api_client_for(alice).get(f"/api/v1/responders/{desk.public_id}/").json()

    assert (detail["on_duty_now"], detail["current_shift"]) == (False, None)


def test_outsiders_see_no_responders(desk, charlie, api_client_for):
    client = api_client_for(charlie)

    assert client.get("/api/v1/responders/").json()["results"] == []
    assert client.get(f"/api/v1/responders/{desk.public_id}/").status_code == 404
    assert client.get(_shifts_url(desk)).status_code == 404


def test_responders_list_query_count_is_constant(
    desk, desk_org, alice, regions, other_regions, api_client_for, django_assert_num_queries
):
    _shift(desk, alice)
    client = api_client_for(alice)
    before = _query_count(client, "/api/v1/responders/")

    for number in range(4):
        responder = services.responder_create(
            organisation=desk_org,
            name=f"值班台{number}",
            kind=Responder.Kind.OPERATIONS_CENTRE,
            phone="021-110",
            regions=[regions["grid"], other_regions["grid"]],
        )
        _shift(responder, alice)
        _shift(responder, alice, starts_in_hours=10)

    with django_assert_num_queries(before):
        response = client.get("/api/v1/responders/")
    assert [row["on_duty_now"] for row in response.json()["results"]] == [True] * 5


# Duty shifts -----------------------------------------------------------------------------------


def test_roster_lists_shifts_in_time_order(desk, alice, vera, api_client_for):
    _shift(desk, alice, starts_in_hours=10, name="晚")
    _shift(desk, alice, starts_in_hours=-1, name="早")

    response = api_client_for(vera).get(_shifts_url(desk))

    assert response.status_code == 200
    assert [row["contact_name"] for row in response.json()["results"]] == ["早", "晚"]


def test_roster_query_count_is_constant(desk, alice, api_client_for, django_assert_num_queries):
    _shift(desk, alice)
    client = api_client_for(alice)
    before = _query_count(client, _shifts_url(desk))

    for hours in range(10, 60, 10):
        _shift(desk, alice, starts_in_hours=hours)

    with django_assert_num_queries(before):
        response = client.get(_shifts_url(desk))
    assert response.json()["count"] == 6


def _shift_payload(**overrides):
    starts_at = timezone.now() + timedelta(days=1)
    payload = {
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=12)).isoformat(),
        "contact_name": "王班长",
        "contact_phone": "13700000000",
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not None}


def test_staff_adds_a_shift(desk, bob, api_client_for):
    response = api_client_for(bob).post(_shifts_url(desk), _shift_payload(), format="json")

    assert response.status_code == 201
    shift = desk.shifts.get()
    assert (shift.contact_name, shift.ends_at - shift.starts_at) == ("王班长", timedelta(hours=12))
    assert response.json()["id"] == shift.pk


def test_viewer_and_outsider_may_not_add_shifts(desk, vera, charlie, api_client_for):
    assert (
        api_client_for(vera).post(_shifts_url(desk), _shift_payload(), format="json").status_code
        == 403
    )
    assert (
        api_client_for(charlie).post(_shifts_url(desk), _shift_payload(), format="json").status_code
        == 404
    )
    assert DutyShift.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"contact_phone": None}, "contact_phone"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"ends_at": timezone.now().isoformat()}, "ends_at"),
    ],
)
def test_bad_shift_input_is_400_naming_the_field(desk, alice, api_client_for, overrides, field):
    response = api_client_for(alice).post(
        _shifts_url(desk), _shift_payload(**overrides), format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert DutyShift.objects.count() == 0


def test_staff_changes_and_removes_a_shift(desk, alice, bob, api_client_for):
    shift = _shift(desk, alice)
    client = api_client_for(bob)

    response = client.patch(_shifts_url(desk, shift), {"contact_name": "替班"}, format="json")
    assert response.status_code == 200
    shift.refresh_from_db()
    assert shift.contact_name == "替班"

    assert client.delete(_shifts_url(desk, shift)).status_code == 204
    assert not DutyShift.objects.filter(pk=shift.pk).exists()


def test_a_shift_cannot_be_changed_to_end_before_it_starts(desk, alice, api_client_for):
    shift = _shift(desk, alice)

    response = api_client_for(alice).patch(
        _shifts_url(desk, shift),
        {"ends_at": (shift.starts_at - timedelta(hours=1)).isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert "ends_at" in response.json()
    ends_at = shift.ends_at
    shift.refresh_from_db()
    assert shift.ends_at == ends_at


def test_viewer_gets_403_and_outsider_404_changing_or_removing_a_shift(
    desk, alice, vera, charlie, api_client_for
):
    shift = _shift(desk, alice, name="原班")
    url = _shifts_url(desk, shift)
    for client, expected in ((api_client_for(vera), 403), (api_client_for(charlie), 404)):
        assert client.patch(url, {"contact_name": "改"}, format="json").status_code == expected
        assert client.delete(url).status_code == expected
    shift.refresh_from_db()
    assert shift.contact_name == "原班"
