"""In headless Chromium on a phone-sized page: the fire station's duty desk has its console
open; a smoke alarm in alice's shop is raised (committed, as the processor would); within a
few seconds it appears without a reload, with the banner and the beep of a new critical alert;
the desk acknowledges it from its row."""

import os

import pytest

from alerts.models import Alert, AlertEntry
from tests.alerts.test_views import make_alert
from tests.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is installed by make test"),
]


@pytest.fixture
def committed_scene(transactional_db, request):
    """Created in the test's own (committed) transaction so the live server sees it."""
    return request.getfixturevalue("scene")


def test_a_new_fire_alarm_appears_in_the_fire_stations_console_and_is_acknowledged(
    live_server, phone, log_in, committed_scene
):
    scene = committed_scene
    log_in(phone, "fred@example.cn")
    phone.goto(f"{live_server.url}/console/")
    phone.locator("#console-empty").wait_for()
    console = phone.locator("#console")
    assert console.get_attribute("data-cues") == "0"
    assert phone.locator("#new-critical-banner").is_hidden()

    alert = make_alert(scene, summary="烟感报警")

    row = phone.locator(f"#alert-{alert.public_id}")
    row.wait_for(timeout=6_000)  # the list polls every 2 s
    assert phone.locator("#new-critical-banner").is_visible()
    assert "Alice's shop" in phone.locator("#new-critical-text").inner_text()
    assert console.get_attribute("data-cues") == "1"
    assert console.get_attribute("data-beeps") == "1"  # the Web Audio tone was played
    assert "new-critical" in (row.get_attribute("class") or "")
    assert "收银台上方" in row.inner_text()
    # The page fits a phone: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    row.locator("button.acknowledge").click()

    phone.locator(f"#alert-{alert.public_id}[data-status=acknowledged]").wait_for()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == scene["fred"]
    entry = alert.entries.get(action=AlertEntry.Action.ACKNOWLEDGED)
    assert entry.via == AlertEntry.Via.CONSOLE
    # The next polls keep it listed (it is handled, not resolved) and raise no second cue.
    phone.wait_for_timeout(2_500)
    assert phone.locator(f"#alert-{alert.public_id}").count() == 1
    assert console.get_attribute("data-cues") == "1"
