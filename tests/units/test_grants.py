from accounts.models import Organisation
from tests import factories
from units import selectors, services
from units.models import Responder


def test_authority_sees_units_of_its_region_only(alice_unit, charlie_unit, regions):
    reviewer = factories.UserFactory()
    services.authority_create(name="黄浦区应急管理局", region=regions["district"], owner=reviewer)

    visible = set(selectors.unit_list_for(user=reviewer))

    assert visible == {alice_unit}


def test_responder_covering_a_subdistrict_may_respond_for_its_units(alice_unit, regions):
    desk = factories.UserFactory()
    organisation = factories.organisation_for(desk, kind=Organisation.Kind.RESPONDER)
    services.responder_create(
        organisation=organisation,
        name="黄浦消防站",
        kind=Responder.Kind.FIRE_STATION,
        phone="021-119",
        regions=[regions["subdistrict"]],
    )

    assert desk.has_perm("units.respond_unit", alice_unit)
    assert list(selectors.unit_list_for(user=desk)) == [alice_unit]


def test_park_office_sees_shops_inside_it(alice_org, alice, charlie, charlie_org, regions):
    park = factories.unit_for(
        charlie_org, by=charlie, region=regions["grid"], name="田子坊", kind="park"
    )
    shop = factories.unit_for(alice_org, by=alice, region=regions["grid"], parent=park)

    assert shop in selectors.unit_list_for(user=charlie)

    services.unit_update(unit=shop, by=alice, parent=None)

    assert shop not in selectors.unit_list_for(user=charlie)
