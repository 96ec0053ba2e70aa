"""`manage.py load_demo`: idempotent, rolling rosters, and logins that work."""

import re
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from units import selectors
from units.models import DutyShift, Region, Responder, Unit

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOGIN_ROW = re.compile(r"^.*?(\S+@demo\.safeunit\.cn)\s+(\S+)$")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The demo hashes its one password once; checking it eight times should not take seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_demo() -> str:
    output = StringIO()
    call_command("load_demo", stdout=output)
    return output.getvalue()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_a_second_run_writes_nothing():
    load_demo()
    first = row_counts()

    with CaptureQueriesContext(connection) as queries:
        load_demo()

    assert row_counts() == first
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert len(queries.captured_queries) < 105  # look-ups only, a few per demo object


def test_the_printed_logins_authenticate():
    output = load_demo()

    logins = [match.groups() for line in output.splitlines() if (match := LOGIN_ROW.match(line))]

    assert len(logins) == 8
    assert {password for _email, password in logins} == {"safeunit-demo"}
    for email, password in logins:
        assert authenticate(username=email, password=password) is not None, email
    admin = User.objects.get(email="admin@demo.safeunit.cn")
    assert admin.is_superuser and admin.is_staff
    assert User.objects.filter(is_staff=True).count() == 1


def test_the_demo_is_huangpus_pilot():
    load_demo()

    dapuqiao = Region.objects.get(code="310101021")
    assert dapuqiao.name == "打浦桥街道" and dapuqiao.name_en == "Dapuqiao Subdistrict"
    assert dapuqiao.path == "/310000/310101/310101021/"
    assert set(dapuqiao.children.values_list("level", flat=True)) == {"grid"}
    park = Unit.objects.get(name="田子坊")
    assert (park.kind, park.entrances, park.region.code) == ("park", 3, "310101021001")
    shops = park.children.all()
    assert shops.count() == 20
    assert {shop.organisation.name for shop in shops} == {"田子坊商户", "林记咖啡"}
    assert shops.filter(organisation__name="林记咖啡").count() == 1
    assert park.organisation.name == "田子坊管委会"
    assert Unit.objects.get(name="春江小区").kind == "estate"
    assert Unit.objects.get(name="南京大楼").region.parent.code == "310101002"
    contact_counts = Unit.objects.annotate(n=Count("contacts")).values_list("n", flat=True)
    assert set(contact_counts) <= {2, 3}
    for unit in Unit.objects.prefetch_related("contacts"):
        positions = [contact.position for contact in unit.contacts.all()]
        assert positions == list(range(1, len(positions) + 1)), unit


def test_each_login_sees_what_its_role_covers():
    load_demo()

    def visible(email):
        user = User.objects.get(email=email)
        return set(selectors.unit_list_for(user=user).values_list("name", flat=True))

    shops = set(Unit.objects.filter(parent__name="田子坊").values_list("name", flat=True))
    in_dapuqiao = shops | {"田子坊", "春江小区"}
    assert visible("merchant@demo.safeunit.cn") == {"林记咖啡"}
    assert visible("park@demo.safeunit.cn") == shops | {"田子坊"}
    assert visible("estate@demo.safeunit.cn") == {"春江小区"}
    assert visible("vendor@demo.safeunit.cn") == set()
    assert visible("reviewer@demo.safeunit.cn") == in_dapuqiao | {"南京大楼"}
    assert visible("firedesk@demo.safeunit.cn") == in_dapuqiao
    assert visible("opscentre@demo.safeunit.cn") == in_dapuqiao
    desk = User.objects.get(email="firedesk@demo.safeunit.cn")
    assert desk.has_perm("units.respond_unit", Unit.objects.get(name="林记咖啡"))
    assert not desk.has_perm("units.respond_unit", Unit.objects.get(name="南京大楼"))
    property_desk = Responder.objects.get(name="春江物业监控中心")
    assert [region.code for region in property_desk.regions.all()] == ["310101021003"]


def test_rosters_cover_today_and_the_next_week_and_roll_forward():
    with time_machine.travel(datetime(2025, 3, 1, 10, tzinfo=SHANGHAI), tick=False):
        load_demo()
    on_duty_then = datetime(2025, 3, 1, 10, tzinfo=SHANGHAI)
    for responder in Responder.objects.all():
        assert responder.shifts.count() == 16, responder
        assert selectors.shift_on_duty(responder=responder, at=on_duty_then) is not None
        last = responder.shifts.order_by("starts_at").last()
        assert last.starts_at == datetime(2025, 3, 8, 20, tzinfo=SHANGHAI)

    with time_machine.travel(datetime(2025, 3, 4, 9, tzinfo=SHANGHAI), tick=False):
        load_demo()

    for responder in Responder.objects.all():
        assert responder.shifts.count() == 16 + 3 * 2, responder
        last = responder.shifts.order_by("starts_at").last()
        assert last.starts_at == datetime(2025, 3, 11, 20, tzinfo=SHANGHAI)
    duplicates = (
        DutyShift.objects.values("responder", "starts_at").annotate(n=Count("pk")).filter(n__gt=1)
    )
    assert not duplicates.exists()
