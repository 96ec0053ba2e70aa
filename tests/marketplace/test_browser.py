"""End to end in headless Chromium: a vendor submits, a reviewer certifies, and a unit compares
two certified solutions and gets a quote for its own shop."""

import os
import re

import pytest

from marketplace import services
from marketplace.models import SolutionRevision
from tests import marketplace_fixtures as market
from tests.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is installed by make test"),
]


@pytest.fixture
def scene(transactional_db, request):
    """Created in the test's own (committed) transaction so the live server sees it."""
    names = ["alice_unit", "rita", "fire_standard", "vince", "draft", "smoke_detector"]
    return {name: request.getfixturevalue(name) for name in names}


def test_vendor_submits_reviewer_certifies_unit_compares_and_gets_a_quote(
    live_server, browser, log_in, scene
):
    draft, vince, rita = scene["draft"], scene["vince"], scene["rita"]
    # A second certified solution to compare with (low tier, fixed two detectors).
    other = services.solution_create(
        vendor=draft.solution.vendor,
        by=vince,
        scenario=draft.solution.scenario,
        tier="low",
        bom=[{"device_model": scene["smoke_detector"], "rule": "fixed", "quantity": 2}],
        **market.revision_fields(
            name="经济型烟感", name_en="Budget smoke kit", purchase_price=120 * market.YUAN
        ),
    )
    services.revision_submit(revision=other, by=vince)
    market.certify(other, rita)
    solution = draft.solution

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)

    # The vendor submits its draft for certification.
    log_in(page, "vince@example.cn")
    page.goto(f"{live_server.url}/vendor/solutions/{solution.public_id}/")
    page.click("#submit-r1")
    page.locator("#submit-r1").wait_for(state="detached")
    assert SolutionRevision.objects.get(pk=draft.pk).status == "submitted"
    context.clear_cookies()

    # The reviewer works through the checklist and certifies.
    log_in(page, "rita@example.cn")
    page.goto(f"{live_server.url}/reviews/{solution.public_id}/r1/")
    page.click("#start-review")
    page.locator("#start-review").wait_for(state="detached")
    for requirement in scene["fire_standard"].requirements.filter(tiers__contains=["mid"]):
        row = page.locator(f"#requirement-{requirement.pk}")
        row.locator("select[name$=verdict]").select_option("met")
        with page.expect_response(re.compile(rf"/verdicts/{requirement.pk}/$")):
            row.locator("button[type=submit]").click()
    page.check("#decision-form input[name=decision][value=certify]")
    page.fill("#decision-form [name=reasons]", "检测报告齐全，价格在区间内")
    page.click("#decision-form button[type=submit]")
    page.locator("#decision").wait_for()
    certified = SolutionRevision.objects.get(pk=draft.pk)
    assert certified.status == "certified" and certified.certificate_number
    context.clear_cookies()

    # The public verification page needs no login.
    page.goto(f"{live_server.url}/certificates/{certified.certificate_number}/")
    assert certified.certificate_number in page.content()

    # Alice compares both for her shop and opens a quote.
    log_in(page, "alice@example.cn")
    unit = scene["alice_unit"]
    page.goto(f"{live_server.url}/catalog/fire/?unit={unit.public_id}&months=36")
    rows = page.locator("#solutions tbody tr")
    assert rows.count() == 2
    for index in range(2):
        rows.nth(index).locator("input[name=s]").check()
    page.click("#compare")
    page.wait_for_url(re.compile(r"/catalog/fire/compare/"))
    content = page.content()
    assert "小店烟感套餐" in content and "经济型烟感" in content

    page.goto(f"{live_server.url}/catalog/fire/?unit={unit.public_id}&months=36")
    page.locator(f"#solution-{solution.public_id} .quote-link").click()
    page.wait_for_url(re.compile(r"/quote/"))
    # 60 m² at one detector per 30 m²: two devices, ¥200 each with installation.
    assert "¥400.00" in page.content()
    context.close()
