"""Personas for the units pages, beyond the shared ones (alice, bob, vera, charlie):

- rita reviews for the Huangpu district authority (sees alice's unit through a grant);
- dan runs the Huangpu fire station's duty desk (owner), with dora as its staff and
  victor as a viewer; the station covers alice's subdistrict;
- pam runs a creative park in alice's grid; alice's second shop sits inside it.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership, Organisation
from tests import factories
from units import services
from units.models import Responder, Unit


@pytest.fixture
def rita(db):
    return factories.UserFactory(email="rita@huangpu.gov.cn", full_name="Rita")


@pytest.fixture
def authority(rita, regions):
    return services.authority_create(
        name="黄浦区应急管理局", region=regions["district"], owner=rita
    )


@pytest.fixture
def dan(db):
    return factories.UserFactory(email="dan@fire.cn", full_name="Dan")


@pytest.fixture
def dora(db):
    return factories.UserFactory(email="dora@fire.cn", full_name="Dora")


@pytest.fixture
def victor(db):
    return factories.UserFactory(email="victor@fire.cn", full_name="Victor")


@pytest.fixture
def desk_org(dan, dora, victor):
    organisation = factories.organisation_for(
        dan, kind=Organisation.Kind.RESPONDER, name="黄浦消防救援支队"
    )
    factories.member_add(organisation, dora, Membership.Role.STAFF)
    factories.member_add(organisation, victor, Membership.Role.VIEWER)
    return organisation


@pytest.fixture
def responder(desk_org, regions):
    return services.responder_create(
        organisation=desk_org,
        name="黄浦消防站",
        kind=Responder.Kind.FIRE_STATION,
        phone="021-63280119",
        regions=[regions["subdistrict"]],
    )


@pytest.fixture
def other_responder(other_regions):
    """A fire station in another district: rita's authority must not see it."""
    owner = factories.UserFactory(email="owner@jingan-fire.cn")
    organisation = factories.organisation_for(
        owner, kind=Organisation.Kind.RESPONDER, name="静安消防"
    )
    return services.responder_create(
        organisation=organisation,
        name="静安消防站",
        kind=Responder.Kind.FIRE_STATION,
        phone="021-62470119",
        regions=[other_regions["subdistrict"]],
    )


@pytest.fixture
def shift_now(responder, dan):
    now = timezone.now()
    return services.duty_shift_create(
        responder=responder,
        by=dan,
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=6),
        contact_name="王队长",
        contact_phone="13900000001",
        note="白班",
    )


@pytest.fixture
def pam(db):
    return factories.UserFactory(email="pam@park.cn", full_name="Pam")


@pytest.fixture
def park_org(pam):
    return factories.organisation_for(pam, name="田子坊管委会")


@pytest.fixture
def park(park_org, pam, regions):
    return factories.unit_for(
        park_org, by=pam, region=regions["grid"], name="田子坊", kind=Unit.Kind.PARK
    )


@pytest.fixture
def shop_in_park(alice_org, alice, regions, park):
    return factories.unit_for(
        alice_org, by=alice, region=regions["grid"], name="田子坊里的小店", parent=park
    )
