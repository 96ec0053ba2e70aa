"""In headless Chromium on a phone (390 px): the district reviewer opens the dashboard from
the menu; nothing but the tables scrolls sideways, the charts fit, and choosing a coverage
row loads the uncovered units into the page without leaving it."""

import os

import pytest

from tests.conftest import CHROMIUM
from tests.oversight import dashboard_fixtures as fixtures
from tests.oversight.test_dashboards import scene as dashboard_scene

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is installed by make test"),
]

huangpu = fixtures.huangpu
betty_unit = fixtures.betty_unit
scene = dashboard_scene


@pytest.fixture
def committed_scene(transactional_db, request):
    """Created in the test's own (committed) transaction so the live server sees it."""
    return request.getfixturevalue("scene")


def test_the_dashboard_reads_on_a_phone_and_loads_the_uncovered_units(
    live_server, phone, log_in, committed_scene, rita
):
    log_in(phone, rita.email)
    phone.click("#nav-dashboards")
    phone.wait_for_url(f"{live_server.url}/oversight/regions/310101/")

    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    for chart in ("#chart-online", "#chart-coverage", "#chart-weekly"):
        box = phone.locator(chart).bounding_box()
        assert box is not None and box["width"] <= 390
    url_before = phone.url

    phone.locator("#table-coverage a").first.click()

    phone.locator("#uncovered-table").wait_for()
    assert phone.url == url_before  # swapped into the page, not a new one
    assert "Betty's shop" in phone.locator("#uncovered-units").inner_text()
