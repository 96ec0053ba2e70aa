"""The catalog pages for units: only certified, current revisions; filters; sort by price or
tier only; compare up to four; a quote for one of my units; constant query counts."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplace.models import Scenario, SolutionRevision
from marketplace.quotes import quote_for
from tests import factories
from tests.marketplace_fixtures import YUAN

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def scenario_url(code="fire"):
    return reverse("marketplace:catalog_scenario", args=[code])


def compare_url(code="fire"):
    return reverse("marketplace:catalog_compare", args=[code])


def quote_url(revision):
    return reverse("marketplace:catalog_quote", args=[revision.solution.public_id])


def names(response) -> list[str]:
    return [row["revision"].name_en for row in response.context["rows"]]


def query_count(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(queries.captured_queries)


# The scenarios -------------------------------------------------------------------------------


def test_catalog_lists_every_scenario_with_counts_per_tier(
    client_for, alice, alice_unit, certified
):
    response = client_for(alice).get(reverse("marketplace:catalog"), **EN)

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row["scenario"].code for row in rows] == list(
        Scenario.objects.values_list("code", flat=True)
    )
    fire = next(row for row in rows if row["scenario"].code == "fire")
    assert [count for _label, count in fire["tiers"]] == [0, 1, 0]
    content = response.content.decode()
    assert "Fire safety" in content and "Mid tier: 1" in content


def test_catalog_says_plainly_which_tiers_have_no_certified_solution(
    client_for, alice, alice_unit, certified
):
    response = client_for(alice).get(reverse("marketplace:catalog"), **EN)

    fire = next(row for row in response.context["rows"] if row["scenario"].code == "fire")
    assert fire["missing"] == [
        "No certified low-tier solution yet.",
        "No certified high-tier solution yet.",
    ]
    content = response.content.decode()
    assert "No certified high-tier solution yet." in content
    assert "No certified mid-tier solution yet." in content  # other scenarios have none at all


def test_no_sentence_when_all_three_tiers_are_certified(
    client_for, alice, alice_unit, vendor, bulk_solutions
):
    for tier in ("low", "mid", "high"):
        bulk_solutions(vendor=vendor, tier=tier)

    response = client_for(alice).get(reverse("marketplace:catalog"), **EN)
    fire = next(row for row in response.context["rows"] if row["scenario"].code == "fire")
    assert fire["missing"] == []
    scenario_page = client_for(alice).get(scenario_url(), **EN)
    assert "tier-missing" not in scenario_page.content.decode()


def test_unit_members_see_which_scenarios_apply_to_their_units(
    client_for, alice, vera, alice_unit, vince, vendor
):
    rows = client_for(vera).get(reverse("marketplace:catalog"), **EN).context["rows"]
    hints = {row["scenario"].code: row["for_my_units"] for row in rows}
    assert hints["fire"] is True  # alice's unit is a shop
    assert hints["elevator"] is False  # estates, buildings, parks, scenic areas only

    vendor_page = client_for(vince).get(reverse("marketplace:catalog"), **EN)
    assert vendor_page.status_code == 200  # any signed-in user may browse
    assert "Applies to your unit" not in vendor_page.content.decode()


def test_catalog_needs_a_login(client, db):
    response = client.get(reverse("marketplace:catalog"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_catalog_query_count_is_the_same_for_10_and_1000_solutions(
    client_for, alice, alice_unit, vendor, other_vendor, bulk_solutions, django_assert_num_queries
):
    client = client_for(alice)
    url = reverse("marketplace:catalog")
    bulk_solutions(vendor=vendor, count=10)
    client.get(url)
    baseline = query_count(client, url)
    for tier in ("low", "mid", "high"):
        bulk_solutions(vendor=other_vendor, count=330, tier=tier)

    with django_assert_num_queries(baseline):
        response = client.get(url)

    fire = next(row for row in response.context["rows"] if row["scenario"].code == "fire")
    assert sum(count for _label, count in fire["tiers"]) == 1000


# One scenario's solutions ----------------------------------------------------------------------


def test_only_certified_current_revisions_are_listed(
    client_for, alice, alice_unit, vendor, draft, bulk_solutions
):
    for status in ("draft", "submitted", "in_review", "suspended", "revoked", "expired"):
        bulk_solutions(vendor=vendor, status=status, name_en=f"{status} kit")
    (old,) = bulk_solutions(vendor=vendor, status="superseded", name_en="superseded kit")
    SolutionRevision.objects.create(
        solution=old.solution,
        number=2,
        status="certified",
        standard=old.standard,
        certificate_number="TEST-CURRENT",
        **{f: getattr(old, f) for f in ("purchase_price", "monitoring_fee")},
        warranty_months=24,
        repair_sla_hours=24,
        name="当前版本",
        name_en="current kit",
    )
    bulk_solutions(vendor=vendor, name_en="certified kit")

    response = client_for(alice).get(scenario_url(), **EN)

    assert response.status_code == 200
    assert sorted(names(response)) == ["certified kit", "current kit"]
    content = response.content.decode()
    for hidden in ("draft kit", "submitted kit", "suspended kit", "superseded kit", "revoked kit"):
        assert hidden not in content


def test_each_row_shows_prices_terms_and_the_certificate_link(
    client_for, alice, alice_unit, vendor, bulk_solutions
):
    (leased,) = bulk_solutions(vendor=vendor, name_en="Lease kit", purchase_price=123 * YUAN)
    (bought,) = bulk_solutions(
        vendor=vendor,
        name_en="Purchase kit",
        lease_monthly_fee=None,
        lease_min_months=None,
        lease_deposit=None,
        lease_buyout_price=None,
    )

    response = client_for(alice).get(scenario_url(), **EN)

    content = response.content.decode()
    row = content.split(f'id="solution-{bought.solution.public_id}"')[1].split("</tr>")[0]
    assert "Purchase only" in row
    assert "申安消防科技" in row
    assert f"/certificates/{bought.certificate_number}/" in row or bought.certificate_number in row
    leased_row = content.split(f'id="solution-{leased.solution.public_id}"')[1].split("</tr>")[0]
    assert "¥123.00" in leased_row and "¥8.00" in leased_row and "24 months" in leased_row


def test_chinese_is_the_default_language_for_names(
    client_for, alice, alice_unit, certified, settings
):
    settings.LANGUAGE_CODE = "zh-hans"  # production's default (tests otherwise read English)
    content = client_for(alice).get(scenario_url()).content.decode()

    assert "小店烟感套餐" in content
    assert "Small-shop smoke kit" not in content


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["cheap low", "mid mid", "dear high"]),
        ("price", ["cheap low", "mid mid", "dear high"]),
        ("-price", ["dear high", "mid mid", "cheap low"]),
        ("tier", ["cheap low", "mid mid", "dear high"]),
    ],
)
def test_sorted_by_price_or_tier_only(
    client_for, alice, alice_unit, vendor, bulk_solutions, sort, expected
):
    bulk_solutions(vendor=vendor, tier="high", name_en="dear high", purchase_price=300 * YUAN)
    bulk_solutions(vendor=vendor, tier="low", name_en="cheap low", purchase_price=100 * YUAN)
    bulk_solutions(vendor=vendor, tier="mid", name_en="mid mid", purchase_price=200 * YUAN)

    response = client_for(alice).get(scenario_url(), {"sort": sort}, **EN)

    assert names(response) == expected


def test_tier_sort_is_by_tier_even_when_prices_disagree(
    client_for, alice, alice_unit, vendor, bulk_solutions
):
    bulk_solutions(vendor=vendor, tier="high", name_en="cheap high", purchase_price=50 * YUAN)
    bulk_solutions(vendor=vendor, tier="low", name_en="dear low", purchase_price=900 * YUAN)

    response = client_for(alice).get(scenario_url(), {"sort": "tier"}, **EN)

    assert names(response) == ["dear low", "cheap high"]


def test_no_other_ordering_is_accepted(client_for, alice, alice_unit, vendor, bulk_solutions):
    bulk_solutions(vendor=vendor, name_en="b", purchase_price=200 * YUAN)
    bulk_solutions(vendor=vendor, name_en="a", purchase_price=100 * YUAN)

    response = client_for(alice).get(scenario_url(), {"sort": "recommended"}, **EN)

    assert response.status_code == 200
    assert response.context["form"].errors["sort"]
    assert names(response) == ["a", "b"]  # falls back to price


def test_filters(client_for, alice, alice_unit, vendor, other_vendor, bulk_solutions):
    bulk_solutions(vendor=vendor, tier="low", name_en="low lease", purchase_price=100 * YUAN)
    bulk_solutions(
        vendor=vendor,
        tier="mid",
        name_en="mid purchase",
        purchase_price=200 * YUAN,
        lease_monthly_fee=None,
        lease_min_months=None,
        lease_deposit=None,
        lease_buyout_price=None,
    )
    bulk_solutions(
        vendor=other_vendor, tier="high", name_en="high other", purchase_price=500 * YUAN
    )
    client = client_for(alice)

    def listed(**params):
        return sorted(names(client.get(scenario_url(), params, **EN)))

    assert listed(tier="low") == ["low lease"]
    assert listed(mode="lease") == ["high other", "low lease"]
    assert listed(mode="purchase") == ["high other", "low lease", "mid purchase"]
    assert listed(vendor=str(other_vendor.public_id)) == ["high other"]
    assert listed(max_price="200") == ["low lease", "mid purchase"]
    assert listed(max_price="199.99") == ["low lease"]
    assert listed(tier="mid", max_price="150") == []


def test_htmx_gets_only_the_results(client_for, alice, alice_unit, certified):
    response = client_for(alice).get(scenario_url(), {"tier": "mid"}, HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert content.lstrip().startswith('<section id="results">')
    assert "<html" not in content and "小店烟感套餐" in content


def test_rows_show_the_quote_for_my_unit(client_for, alice, alice_unit, certified):
    response = client_for(alice).get(
        scenario_url(), {"unit": str(alice_unit.public_id), "months": 24}, **EN
    )

    expected = quote_for(revision=certified, unit=alice_unit, months=24)
    (row,) = response.context["rows"]
    assert row["quote"] == expected
    content = response.content.decode()
    assert f'<td class="quote-devices">{expected.devices}</td>' in content
    assert "¥640.00" in content  # bought: 2 × ¥200 + 24 × ¥10
    assert f"¥{expected.lease_total // 100:,}.00" in content


def test_months_default_to_36(client_for, alice, alice_unit, certified):
    response = client_for(alice).get(scenario_url(), {"unit": str(alice_unit.public_id)})

    assert response.context["rows"][0]["quote"].months == 36


def test_another_organisations_unit_is_not_found(
    client_for, alice, alice_unit, charlie_unit, certified
):
    response = client_for(alice).get(scenario_url(), {"unit": str(charlie_unit.public_id)})

    assert response.status_code == 404


def test_unknown_scenario_is_not_found(client_for, alice, db):
    assert client_for(alice).get(scenario_url("no-such")).status_code == 404


def test_scenario_page_query_count_is_the_same_for_10_and_1000_solutions(
    client_for, alice, alice_unit, vendor, other_vendor, bulk_solutions, django_assert_num_queries
):
    client = client_for(alice)
    url = f"{scenario_url()}?unit={alice_unit.public_id}&months=36&sort=tier"
    bulk_solutions(vendor=vendor, count=10)
    client.get(url)
    baseline = query_count(client, url)
    bulk_solutions(vendor=other_vendor, count=990, tier="low")

    with django_assert_num_queries(baseline):
        response = client.get(url)

    assert response.context["page_obj"].paginator.count == 1000


# Compare ---------------------------------------------------------------------------------------


def test_compare_side_by_side_with_verdicts_and_totals(
    client_for, alice, alice_unit, certified, vendor, bulk_solutions
):
    (other,) = bulk_solutions(vendor=vendor, tier="low", name_en="Other kit")
    params = {
        "s": [str(certified.solution.public_id), str(other.solution.public_id)],
        "unit": str(alice_unit.public_id),
        "months": 36,
    }

    response = client_for(alice).get(compare_url(), params, **EN)

    assert response.status_code == 200
    columns = response.context["columns"]
    assert [c["revision"] for c in columns] == [certified, other]
    assert [c["quote"] for c in columns] == [
        quote_for(revision=certified, unit=alice_unit, months=36),
        quote_for(revision=other, unit=alice_unit, months=36),
    ]
    rows = {row["requirement"].code: row["cells"] for row in response.context["requirements"]}
    assert rows["FIRE-1"][0]["label"] == "Met"
    assert rows["FIRE-1"][1] is None  # bulk-created: no review recorded
    content = response.content.decode()
    assert "Alarm forwarded within 10 s" in content and "Total leased over 36 months" in content


def test_compare_refuses_a_fifth_solution(client_for, alice, alice_unit, vendor, bulk_solutions):
    revisions = bulk_solutions(vendor=vendor, count=5)
    params = {"s": [str(r.solution.public_id) for r in revisions]}

    response = client_for(alice).get(compare_url(), params, **EN)

    assert response.status_code == 400
    assert "Compare at most 4 solutions at a time; you chose 5." in response.content.decode()
    assert response.context["columns"] == []


def test_compare_four_is_fine(client_for, alice, alice_unit, vendor, bulk_solutions):
    revisions = bulk_solutions(vendor=vendor, count=4)
    params = {"s": [str(r.solution.public_id) for r in revisions]}

    response = client_for(alice).get(compare_url(), params, **EN)

    assert response.status_code == 200
    assert len(response.context["columns"]) == 4


def test_compare_with_another_organisations_unit_is_not_found(
    client_for, alice, alice_unit, charlie_unit, certified
):
    params = {"s": [str(certified.solution.public_id)], "unit": str(charlie_unit.public_id)}

    assert client_for(alice).get(compare_url(), params).status_code == 404


def test_compare_refuses_solutions_not_on_the_catalog(
    client_for, alice, alice_unit, vendor, bulk_solutions
):
    (draft,) = bulk_solutions(vendor=vendor, status="draft")
    response = client_for(alice).get(compare_url(), {"s": [str(draft.solution.public_id)]})
    assert response.status_code == 404
    missing = client_for(alice).get(compare_url(), {"s": [str(uuid.uuid4())]})
    assert missing.status_code == 404


# Quote for my unit ------------------------------------------------------------------------------


def test_quote_for_my_unit_shows_lines_rules_and_costs(client_for, bob, alice_unit, certified):
    response = client_for(bob).get(
        quote_url(certified), {"unit": str(alice_unit.public_id), "months": 24}, **EN
    )

    assert response.status_code == 200
    expected = quote_for(revision=certified, unit=alice_unit, months=24)
    assert response.context["quote"] == expected
    content = response.content.decode()
    assert "Per N m² of floor area: 1 per 30 m² of 60 m² (rounded up)" in content
    assert '<td class="quantity">2</td>' in content
    assert "¥400.00" in content  # upfront: 2 × (¥180 + ¥20)
    assert "¥640.00" in content  # bought over 24 months
    assert "¥664.00" in content  # leased: 2 × ¥20 + 24 × (¥16 + ¥10)


def test_quote_without_a_unit_asks_for_one(client_for, alice, alice_unit, certified):
    response = client_for(alice).get(quote_url(certified), **EN)

    assert response.status_code == 200
    assert response.context["quote"] is None
    assert "Alice&#x27;s shop" in response.content.decode()  # offered in the unit selector


def test_quote_for_another_organisations_unit_is_not_found(
    client_for, alice, charlie_unit, certified
):
    response = client_for(alice).get(quote_url(certified), {"unit": str(charlie_unit.public_id)})

    assert response.status_code == 404


def test_quote_for_a_solution_not_on_the_catalog_is_not_found(client_for, alice, alice_unit, draft):
    response = client_for(alice).get(quote_url(draft), {"unit": str(alice_unit.public_id)})

    assert response.status_code == 404


def test_quote_htmx_gets_only_the_quote(client_for, alice, alice_unit, certified):
    response = client_for(alice).get(
        quote_url(certified), {"unit": str(alice_unit.public_id)}, HTTP_HX_REQUEST="true"
    )

    content = response.content.decode()
    assert content.lstrip().startswith('<section id="quote">') and "<html" not in content


def test_each_of_my_units_gets_its_own_quantities(client_for, alice, alice_org, regions, certified):
    # A second, larger unit of alice's: 95 m² → four detectors.
    bigger = factories.unit_for(alice_org, by=alice, region=regions["grid"], floor_area_m2=95)
    response = client_for(alice).get(quote_url(certified), {"unit": str(bigger.public_id)})

    assert response.context["quote"].devices == 4


def test_scenario_names_follow_the_page_language(client_for, vince, vendor, draft, settings):
    client = client_for(vince)
    english = client.get("/vendor/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    settings.LANGUAGE_CODE = "zh-hans"
    chinese = client.get("/vendor/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "Fire safety" in english and "消防安全" not in english
    assert "消防安全" in chinese
