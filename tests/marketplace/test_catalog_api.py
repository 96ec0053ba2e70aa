"""The catalog API: prices in fen; only certified, current revisions; filters and sorts as on
the pages; quotes equal marketplace.quotes.quote_for; another organisation's unit is 404."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.quotes import quote_for
from tests.marketplace_fixtures import YUAN

SCENARIOS = "/api/v1/catalog/scenarios/"
COMPARE = "/api/v1/catalog/compare/"


def solutions_url(code="fire"):
    return f"/api/v1/catalog/scenarios/{code}/solutions/"


def solution_url(revision):
    return f"/api/v1/catalog/solutions/{revision.solution.public_id}/"


def quote_url(revision):
    return f"{solution_url(revision)}quote/"


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name_en"] for item in response.json()["results"]]


def quote_json(quote, unit) -> dict:
    expected = {
        name: getattr(quote, name)
        for name in (
            "months",
            "devices",
            "currency",
            "purchase_upfront",
            "monitoring_monthly",
            "purchase_total",
            "lease_offered",
            "lease_deposit",
            "lease_monthly",
            "lease_first_payment",
            "lease_term_months",
            "lease_total",
            "lease_buyout",
        )
    }
    return expected | {"unit": str(unit.public_id)}


def test_scenarios_with_counts_and_missing_tiers(api_client_for, alice, certified):
    response = api_client_for(alice).get(SCENARIOS)

    assert response.status_code == 200
    fire = next(item for item in response.json() if item["code"] == "fire")
    assert fire["tier_counts"] == {"low": 0, "mid": 1, "high": 0}
    assert fire["tiers_missing"] == ["low", "high"]
    assert "shop" in fire["unit_kinds"]


def test_catalog_api_needs_authentication(client, db):
    assert client.get(SCENARIOS).status_code in (401, 403)


def test_only_certified_current_revisions_are_listed(api_client_for, alice, vendor, bulk_solutions):
    for status in ("draft", "submitted", "suspended", "superseded", "revoked", "expired"):
        bulk_solutions(vendor=vendor, status=status, name_en=f"{status} kit")
    bulk_solutions(vendor=vendor, name_en="certified kit")

    response = api_client_for(alice).get(solutions_url())

    assert listed(response) == ["certified kit"]
    item = response.json()["results"][0]
    assert item["purchase_price"] == 180 * YUAN  # integer fen
    assert item["tier"] == "mid" and item["vendor_name"] == "申安消防科技"
    assert item["certificate_number"].startswith("TEST-")
    assert item["quote"] is None


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", ["high 50", "low 100", "mid 200"]),
        ("-price", ["mid 200", "low 100", "high 50"]),
        ("tier", ["low 100", "mid 200", "high 50"]),
    ],
)
def test_sorts(api_client_for, alice, vendor, bulk_solutions, sort, expected):
    bulk_solutions(vendor=vendor, tier="high", name_en="high 50", purchase_price=50 * YUAN)
    bulk_solutions(vendor=vendor, tier="low", name_en="low 100", purchase_price=100 * YUAN)
    bulk_solutions(vendor=vendor, tier="mid", name_en="mid 200", purchase_price=200 * YUAN)

    assert listed(api_client_for(alice).get(solutions_url(), {"sort": sort})) == expected


def test_other_orderings_are_refused(api_client_for, alice, db):
    response = api_client_for(alice).get(solutions_url(), {"sort": "recommended"})

    assert response.status_code == 400
    assert "sort" in response.json()


def test_filters(api_client_for, alice, vendor, other_vendor, bulk_solutions):
    bulk_solutions(vendor=vendor, tier="low", name_en="low lease", purchase_price=100 * YUAN)
    bulk_solutions(
        vendor=vendor,
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
    client = api_client_for(alice)

    def names(**params):
        return sorted(listed(client.get(solutions_url(), params)))

    assert names(tier="low") == ["low lease"]
    assert names(mode="lease") == ["high other", "low lease"]
    assert names(vendor=str(other_vendor.public_id)) == ["high other"]
    assert names(max_price=200 * YUAN) == ["low lease", "mid purchase"]
    assert names(max_price=200 * YUAN - 1) == ["low lease"]


def test_list_with_a_unit_carries_each_quote(api_client_for, alice, alice_unit, certified):
    response = api_client_for(alice).get(
        solutions_url(), {"unit": str(alice_unit.public_id), "months": 24}
    )

    (item,) = response.json()["results"]
    expected = quote_for(revision=certified, unit=alice_unit, months=24)
    assert {k: item["quote"][k] for k in quote_json(expected, alice_unit)} == quote_json(
        expected, alice_unit
    )


def test_list_with_another_organisations_unit_is_not_found(
    api_client_for, alice, charlie_unit, certified
):
    response = api_client_for(alice).get(solutions_url(), {"unit": str(charlie_unit.public_id)})

    assert response.status_code == 404


def test_list_query_count_is_the_same_for_10_and_1000_solutions(
    api_client_for, alice, alice_unit, vendor, other_vendor, bulk_solutions
):
    client = api_client_for(alice)
    url = f"{solutions_url()}?unit={alice_unit.public_id}"
    bulk_solutions(vendor=vendor, count=10)
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries.captured_queries), response.json()["count"]

    baseline, total = count()
    bulk_solutions(vendor=other_vendor, count=990)
    assert total == 10
    assert count() == (baseline, 1000)


def test_solution_detail(api_client_for, alice, certified, smoke_detector):
    response = api_client_for(alice).get(solution_url(certified))

    assert response.status_code == 200
    body = response.json()
    assert body["certificate_number"] == certified.certificate_number
    assert body["bom"] == [
        {
            "device_model": str(smoke_detector.public_id),
            "device_model_name": smoke_detector.name,
            "model_number": "SA-S100",
            "category": "smoke_detector",
            "rule": "per_area",
            "quantity": 1,
            "area_step_m2": 30,
        }
    ]


def test_a_draft_is_not_on_the_catalog(api_client_for, alice, draft):
    assert api_client_for(alice).get(solution_url(draft)).status_code == 404


def test_quote_matches_quote_for(api_client_for, vera, alice_unit, certified):
    response = api_client_for(vera).get(
        quote_url(certified), {"unit": str(alice_unit.public_id), "months": 6}
    )

    assert response.status_code == 200
    body = response.json()
    expected = quote_for(revision=certified, unit=alice_unit, months=6)
    assert {k: body[k] for k in quote_json(expected, alice_unit)} == quote_json(
        expected, alice_unit
    )
    assert body["lease_term_months"] == 12  # at least the minimum term
    assert body["lines"] == [
        {
            "device_model_name": "NB-IoT 独立式烟感",
            "rule": "per_area",
            "quantity": 2,
            "explanation": body["lines"][0]["explanation"],
        }
    ]


def test_quote_needs_a_unit_and_a_sane_term(api_client_for, alice, alice_unit, certified):
    client = api_client_for(alice)

    no_unit = client.get(quote_url(certified))
    assert no_unit.status_code == 400 and "unit" in no_unit.json()
    bad_months = client.get(quote_url(certified), {"unit": str(alice_unit.public_id), "months": 0})
    assert bad_months.status_code == 400 and "months" in bad_months.json()


def test_quote_for_another_organisations_unit_is_not_found(
    api_client_for, charlie, alice_unit, certified
):
    response = api_client_for(charlie).get(
        quote_url(certified), {"unit": str(alice_unit.public_id)}
    )

    assert response.status_code == 404


def test_compare_with_verdicts_and_quotes(
    api_client_for, alice, alice_unit, certified, vendor, bulk_solutions
):
    (other,) = bulk_solutions(vendor=vendor, tier="low", purchase_price=90 * YUAN)
    params = {
        "s": [str(other.solution.public_id), str(certified.solution.public_id)],
        "unit": str(alice_unit.public_id),
    }

    response = api_client_for(alice).get(COMPARE, params)

    assert response.status_code == 200
    body = response.json()
    assert [item["solution"] for item in body["solutions"]] == params["s"]
    assert [item["quote"]["purchase_total"] for item in body["solutions"]] == [
        quote_for(revision=other, unit=alice_unit, months=36).purchase_total,
        quote_for(revision=certified, unit=alice_unit, months=36).purchase_total,
    ]
    assert [(r["code"], r["verdicts"]) for r in body["requirements"]] == [
        ("FIRE-1", [None, "met"]),
        ("FIRE-2", [None, "met"]),
    ]


def test_compare_refuses_five(api_client_for, alice, vendor, bulk_solutions):
    revisions = bulk_solutions(vendor=vendor, count=5)

    response = api_client_for(alice).get(
        COMPARE, {"s": [str(r.solution.public_id) for r in revisions]}
    )

    assert response.status_code == 400
    assert response.json()["s"] == ["Compare at most 4 solutions at a time."]


def test_compare_with_another_organisations_unit_is_not_found(
    api_client_for, charlie, alice_unit, certified
):
    params = {"s": [str(certified.solution.public_id)], "unit": str(alice_unit.public_id)}

    assert api_client_for(charlie).get(COMPARE, params).status_code == 404
