"""The demo's promise (issue 6): a simulated smoke alarm in the merchant's Tianzifang coffee
shop appears in the fire station duty desk's console, and escalates if nobody acknowledges."""

import re
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert, Kind
from alerts.selectors import console_alerts_for
from alerts.services.escalation import escalations_run
from alerts.services.processing import events_process
from tests.alerts.test_processing import _send, _smoke

pytestmark = pytest.mark.django_db
SIMULATOR = re.compile(r"simulate_device\.py (\S+) .*--smoke-alarm")


def test_the_coffee_shops_smoke_alarm_reaches_the_fire_desk_console(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    output = StringIO()
    call_command("load_demo", stdout=output)
    token = SIMULATOR.search(output.getvalue()).group(1)

    _send(client, token, {**_smoke("demo-1"), "type": "heartbeat", "values": {}})
    _send(client, token, _smoke("demo-2"))
    events_process()

    alert = Alert.objects.get(kind=Kind.FIRE, status=Alert.Status.OPEN)  # not the history
    assert alert.unit.name == "林记咖啡" and alert.unit.parent.name == "田子坊"
    fire_desk = User.objects.get(email="firedesk@demo.safeunit.cn")
    assert list(console_alerts_for(user=fire_desk)) == [alert]
    assert alert.notifications.filter(user=fire_desk).exists()

    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        assert escalations_run() == 1
    assert alert.notifications.filter(step=1).exists()
