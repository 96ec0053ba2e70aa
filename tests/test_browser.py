"""End to end in headless Chromium (Debian's package, driven by Playwright's Python client):
a merchant signs up, describes the shop, invites a colleague and switches to English."""

import os
import re

import pytest

from tests import factories
from tests.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is installed by make test"),
]


def test_merchant_signs_up_creates_a_unit_invites_a_member_and_switches_language(
    live_server, phone, transactional_db
):
    from accounts.models import Invitation
    from units.models import Unit

    regions = factories.region_tree()
    page = phone

    page.goto(live_server.url + "/signup/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.check("input[name=kind][value=unit]")
    page.fill("input[name=organisation_name]", "田子坊小笼包")
    page.fill("input[name=full_name]", "周师傅")
    page.fill("input[name=email]", "zhou@example.cn")
    page.fill("input[name=password]", "a-long-safe-password")
    page.click("#signup-form button[type=submit]")

    page.wait_for_url("**/units/new/")
    page.fill("input[name=name]", "田子坊小笼包")
    page.select_option("select[name=kind]", "shop")
    page.select_option("select[name=region]", regions["grid"].code)
    page.fill("input[name=address]", "泰康路210弄7号")
    page.fill("input[name=floor_area_m2]", "45")
    page.fill("input[name=floors]", "2")
    page.fill("input[name=responsible_name]", "周师傅")
    page.fill("input[name=responsible_phone]", "13900000000")
    page.click("#unit-form button[type=submit]")

    page.wait_for_url(re.compile(r"/units/[0-9a-f-]{36}/$"))
    unit = Unit.objects.get(name="田子坊小笼包")
    assert unit.floor_area_m2 == 45 and unit.region == regions["grid"]
    assert page.get_by_text("泰康路210弄7号").is_visible()

    page.goto(live_server.url + "/organisation/members/")
    page.fill("#invite-form input[name=email]", "helper@example.cn")
    page.select_option("#invite-form select[name=role]", "staff")
    page.click("#invite-form button[type=submit]")
    page.locator("#invitations").get_by_text("helper@example.cn").wait_for()
    assert Invitation.objects.filter(email="helper@example.cn", accepted_at=None).exists()

    page.click("#language-switcher button[value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Members").is_visible()
    page.screenshot(path=os.environ.get("SAFEUNIT_SCREENSHOT", "/tmp/safeunit-members.png"))
