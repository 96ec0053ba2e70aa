"""The home page: a unit in a programme's scope sees what it asks, whether it is covered, and
every certified option at every tier in an order that favours no vendor; a reviewer sees the
review queue, certificates expiring soon and programmes at risk."""

import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Organisation
from marketplace.models import SolutionRevision
from oversight import coverage, services
from tests import factories
from tests.oversight.programme_fixtures import cover, in_days, shop

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
YUAN = 100


def home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return unescape(response.content.decode())


def option_ids(page: str, programme) -> list[str]:
    return re.findall(rf'id="option-{programme.public_id}-([0-9a-f-]+)"', page)


@pytest.fixture
def catalog(certified, bulk_solutions, vendor, other_vendor):
    """Certified fire solutions of two vendors at every tier (vince's `certified` is mid at
    ¥180), plus one suspended that must not be offered. Returns {name: revision}."""
    made = {}
    for vendor_, tier, price, name in [
        (other_vendor, "low", 200, "浦江低档"),
        (vendor, "low", 60, "申安低档"),
        (other_vendor, "mid", 150, "浦江中档"),
        (vendor, "high", 500, "申安高档"),
        (other_vendor, "high", 450, "浦江高档"),
    ]:
        (revision,) = bulk_solutions(
            vendor=vendor_, tier=tier, purchase_price=price * YUAN, name=name, name_en=name
        )
        made[name] = revision
    bulk_solutions(vendor=vendor, tier="low", status="suspended", name="已暂停")
    made[certified.name] = certified
    return made


def test_visitors_get_the_landing_page(client):
    assert "accounts/landing.html" in [t.name for t in client.get("/").templates]


def test_a_shop_in_scope_sees_the_requirement_and_every_certified_option(
    client_for, alice, alice_unit, programme, catalog
):
    coverage.coverage_refresh()

    page = home(client_for(alice))

    sentence = (
        f"By {programme.deadline.isoformat()} every street shop in {programme.region.name}"
        " must be covered for Fire safety."
    )
    assert sentence in page
    assert f'id="requirement-{programme.public_id}-{alice_unit.public_id}"' in page
    assert "Not covered yet" in page and "60 days left" in page
    # Every tier, low to high, cheapest first inside a tier; the suspended one is not offered.
    expected = ["申安低档", "浦江低档", "浦江中档", "小店烟感套餐", "浦江高档", "申安高档"]
    assert "Tier, then price" in page
    by_solution = {str(revision.solution.public_id): name for name, revision in catalog.items()}
    assert [by_solution[id_] for id_ in option_ids(page, programme)] == expected
    assert "已暂停" not in page
    assert "Low tier: 2 · Mid tier: 2 · High tier: 2" in page
    quote = reverse("marketplace:catalog_quote", args=[catalog["浦江中档"].solution.public_id])
    assert f'href="{quote}?unit={alice_unit.public_id}"' in page
    catalog_url = reverse("marketplace:catalog_scenario", args=["fire"])
    assert f"{catalog_url}?unit={alice_unit.public_id}&sort=tier" in page


def test_the_unit_chooses_to_order_options_by_price(
    client_for, alice, alice_unit, programme, catalog
):
    page = unescape(client_for(alice).get("/?sort=price").content.decode())

    by_solution = {str(revision.solution.public_id): name for name, revision in catalog.items()}
    assert [by_solution[id_] for id_ in option_ids(page, programme)] == [
        "申安低档",
        "浦江中档",
        "小店烟感套餐",
        "浦江低档",
        "浦江高档",
        "申安高档",
    ]
    prices = [catalog[by_solution[id_]].purchase_price for id_ in option_ids(page, programme)]
    assert prices == sorted(prices)


def test_at_most_five_per_tier_are_listed_with_the_count_of_all(
    client_for, alice, alice_unit, programme, bulk_solutions, vendor
):
    bulk_solutions(vendor=vendor, tier="mid", count=8)

    page = home(client_for(alice))

    assert len(option_ids(page, programme)) == 5
    assert "Low tier: 0 · Mid tier: 8 · High tier: 0" in page
    assert "Compare them all in the catalog" in page


def test_a_covered_unit_is_told_so(client_for, alice, alice_unit, programme, certified):
    cover(alice_unit, certified, by=alice)
    with time_machine.travel(datetime(2026, 5, 4, 10, tzinfo=SHANGHAI), tick=False):
        coverage.coverage_refresh()

    page = home(client_for(alice))

    assert "Covered since 2026-05-04" in page and "Not covered yet" not in page
    assert "Your units in scope are covered." in page


def test_units_out_of_scope_see_no_requirement(
    client_for, programme, charlie, charlie_unit, alice, alice_org, regions, certified
):
    assert "must be covered for" not in home(client_for(charlie))  # another district

    park_owner = factories.UserFactory()
    park_org = factories.organisation_for(park_owner, name="园区")
    shop(park_org, park_owner, regions["grid"], "园区", kind="park")  # not a shop
    assert "must be covered for" not in home(client_for(park_owner))


def test_an_organisation_with_several_units_gets_one_block_per_programme(
    client_for, alice, alice_org, alice_unit, programme, regions, certified
):
    second = shop(alice_org, alice, regions["grid"], "第二家")
    cover(alice_unit, certified, by=alice)
    coverage.coverage_refresh()

    page = home(client_for(alice))

    assert page.count(f'id="requirement-{programme.public_id}"') == 1
    for unit in (alice_unit, second):
        assert f'id="requirement-{programme.public_id}-{unit.public_id}"' in page
    # The quote is for the one unit still to cover.
    quote = reverse("marketplace:catalog_quote", args=[certified.solution.public_id])
    assert f'href="{quote}?unit={second.public_id}"' in page


def test_the_unit_home_costs_the_same_queries_whatever_it_covers(
    client_for,
    alice,
    alice_org,
    alice_unit,
    programme,
    catalog,
    authority,
    rita,
    regions,
    fire,
    bulk_solutions,
    vendor,
    django_assert_max_num_queries,
):
    client = client_for(alice)
    with CaptureQueriesContext(connection) as first:
        home(client)
    for number in range(10):
        shop(alice_org, alice, regions["grid"], f"店{number}")
    for number in range(3):
        services.programme_create(
            authority=authority.authority,
            by=rita,
            name=f"计划{number}",
            region=regions["grid"],
            unit_kind="shop",
            scenario=fire,
            deadline=in_days(10 + number),
        )
    bulk_solutions(vendor=vendor, tier="high", count=12)
    coverage.coverage_refresh()

    with django_assert_max_num_queries(len(first)):
        page = home(client)
    assert page.count("must be covered for") == 4


# The reviewer's home ----------------------------------------------------------------------------


def test_the_reviewer_sees_the_queue_expiring_certificates_and_programmes_at_risk(
    client_for, rita, authority, regions, fire, certified, alice_unit, bulk_solutions, vendor
):
    (revision,) = bulk_solutions(
        vendor=vendor, status="submitted", submitted_at=datetime.now(tz=SHANGHAI), name="待审"
    )
    SolutionRevision.objects.filter(pk=certified.pk).update(valid_until=in_days(20))
    at_risk = services.programme_create(
        authority=authority.authority,
        by=rita,
        name="月底前全覆盖",
        region=regions["grid"],
        unit_kind="shop",
        scenario=fire,
        deadline=in_days(12),
    )
    on_track = services.programme_create(
        authority=authority.authority,
        by=rita,
        name="明年全覆盖",
        region=regions["grid"],
        unit_kind="shop",
        scenario=fire,
        deadline=in_days(300),
    )
    coverage.coverage_refresh()
    later = datetime.now(tz=SHANGHAI) + timedelta(days=3, hours=1)

    with time_machine.travel(later, tick=False):
        page = home(client_for(rita))
        again = unescape(client_for(rita).get("/oversight/").content.decode())

    assert f'id="queue-{revision.solution.public_id}-{revision.number}"' in page
    assert "3 days" in page
    assert f'id="expiring-{certified.certificate_number}"' in page
    assert f'id="attention-{at_risk.public_id}"' in page
    assert f'id="attention-{on_track.public_id}"' not in page
    assert "At risk: under 80 % covered with at most 30 days left" in page
    assert again.count('id="attention-') == 1
    assert 'id="nav-programmes"' in page


def test_a_programme_past_its_deadline_with_gaps_needs_attention(
    client_for, rita, programme, alice_unit
):
    coverage.coverage_refresh()
    with time_machine.travel(datetime.combine(in_days(61), datetime.min.time()), tick=False):
        page = home(client_for(rita))

    assert f'id="attention-{programme.public_id}"' in page
    assert "Deadline passed: 1 unit not covered" in page


def test_the_reviewer_home_is_404_for_everyone_else_and_other_homes_stay(
    client_for, alice, alice_unit, vince, vendor, charlie
):
    for person in (alice, vince, charlie):
        assert client_for(person).get("/oversight/").status_code == 404
    vendor_page = home(client_for(vince))
    assert "Your vendor profile is ready" in vendor_page
    assert "Add a unit" in home(client_for(alice))
    responder = factories.UserFactory()
    factories.organisation_for(responder, kind=Organisation.Kind.RESPONDER, name="消防站")
    assert reverse("units:responders") in home(client_for(responder))


def test_the_reviewer_home_costs_the_same_queries_as_work_piles_up(
    client_for,
    rita,
    authority,
    regions,
    fire,
    submitted,
    bulk_solutions,
    vendor,
    django_assert_max_num_queries,
):
    client = client_for(rita)
    with CaptureQueriesContext(connection) as first:
        home(client)
    bulk_solutions(vendor=vendor, count=5, status="submitted")
    expiring = bulk_solutions(vendor=vendor, count=5)
    SolutionRevision.objects.filter(pk__in=[r.pk for r in expiring]).update(valid_until=in_days(9))
    for number in range(4):
        services.programme_create(
            authority=authority.authority,
            by=rita,
            name=f"计划{number}",
            region=regions["grid"],
            unit_kind="shop",
            scenario=fire,
            deadline=in_days(5 + number),
        )
    with django_assert_max_num_queries(len(first)):
        home(client)
