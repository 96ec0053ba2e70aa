"""Reminders: uncovered units in a programme's scope are told 30, 7 and 1 day(s) before the
deadline, once each; after it the authority gets one report of who is still not covered."""

import csv
import io
from contextlib import contextmanager
from datetime import date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from marketplace.models import Scenario
from oversight import coverage, services, tasks
from oversight.models import CoverageProgramme, ProgrammeNotice
from tests import factories
from tests.oversight.programme_fixtures import cover, shop

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEADLINE = date(2026, 3, 1)


def at(day: date, hour: int = 9):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False
    )


@pytest.fixture
def deadline_programme(authority, rita, regions):
    with at(date(2026, 1, 1)):
        return services.programme_create(
            authority=authority.authority,
            by=rita,
            name="网格商户消防全覆盖",
            region=regions["grid"],
            unit_kind="shop",
            scenario=Scenario.objects.get(code="fire"),
            deadline=DEADLINE,
        )


@pytest.fixture
def mia(alice_org):
    """A manager of alice's shop: owners and managers are told, staff and viewers are not."""
    user = factories.UserFactory(email="mia@example.cn", full_name="Mia")
    factories.member_add(alice_org, user, "manager")
    return user


@pytest.fixture
def town(deadline_programme, alice_unit, mia, certified, regions, charlie_unit):
    """alice's shop (not covered), a neighbour's covered shop, charlie's shop elsewhere."""
    neighbour = factories.UserFactory(email="nick@example.cn")
    organisation = factories.organisation_for(neighbour, name="邻居")
    covered = shop(organisation, neighbour, regions["grid"], "邻居小店")
    cover(covered, certified, by=neighbour)
    coverage.coverage_refresh()
    return {"covered": covered}


@contextmanager
def worker(django_capture_on_commit_callbacks):
    """Tasks queued after commit run here and now, as the worker would run them."""

    def run(task):
        return lambda *args: task.apply(args=args)

    with (
        mock.patch.object(
            tasks.programme_reminders_send,
            "delay",
            side_effect=run(tasks.programme_reminders_send),
        ),
        mock.patch.object(
            tasks.programme_report_send, "delay", side_effect=run(tasks.programme_report_send)
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        yield


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    def run_on(day: date) -> dict:
        with at(day), worker(django_capture_on_commit_callbacks):
            return tasks.programmes_remind.apply().get()

    return run_on


def sent_to(message) -> set[str]:
    return set(message.to)


def test_reminders_go_30_7_and_1_days_before_once_each(
    remind, town, deadline_programme, alice, mia, bob, vera
):
    assert remind(date(2026, 1, 29)) == {"reminders": 0, "reports": 0}  # 31 days before
    assert not mail.outbox

    assert remind(date(2026, 1, 30)) == {"reminders": 1, "reports": 0}
    (first,) = mail.outbox
    assert sent_to(first) == {alice.email, mia.email}  # not bob (staff) nor vera (viewer)
    assert deadline_programme.name in first.subject and "30" in first.subject
    assert "Alice's shop" in first.body and "邻居小店" not in first.body
    assert "2026-03-01" in first.body and first.body.rstrip().endswith("/")

    for day in (date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 21)):
        assert remind(day)["reminders"] == 0
    assert len(mail.outbox) == 1

    assert remind(date(2026, 2, 22))["reminders"] == 1  # 7 days before
    assert remind(date(2026, 2, 28))["reminders"] == 1  # the day before
    assert remind(date(2026, 3, 1))["reminders"] == 0  # the deadline itself: told already
    assert len(mail.outbox) == 3
    kinds = list(
        ProgrammeNotice.objects.filter(unit__isnull=False)
        .order_by("sent_at")
        .values_list("kind", flat=True)
    )
    assert kinds == ["reminder_30", "reminder_7", "reminder_1"]


def test_each_manager_reads_the_reminder_and_the_report_in_their_own_language(
    remind, town, deadline_programme, alice, mia, rita, ada
):
    """alice never chose a language (Chinese); mia, her manager, and ada read English."""
    User.objects.filter(pk__in=[mia.pk, ada.pk]).update(language="en")

    remind(date(2026, 1, 30))

    english, chinese = sorted(mail.outbox, key=lambda message: message.to != [mia.email])
    assert english.to == [mia.email] and chinese.to == [alice.email]
    assert english.subject == f"{deadline_programme.name}: 30 days left"
    assert "Not covered yet:" in english.body and "Alice's shop" in english.body
    assert "must be covered for Fire safety." in english.body
    with translation.override("zh-hans"):
        assert chinese.subject == f"{deadline_programme.name}：还剩 30 天"
        assert gettext("Not covered yet:") in chinese.body and "Not covered" not in chinese.body

    mail.outbox.clear()
    remind(date(2026, 3, 2))

    report_en = next(message for message in mail.outbox if message.to == [ada.email])
    report_zh = next(message for message in mail.outbox if message.to == [rita.email])
    assert "1 of 2 units covered (50.0 %)." in report_en.body
    assert "2 个单元中已覆盖 1 个（50.0 %）" in report_zh.body
    assert report_en.attachments[0][0] == report_zh.attachments[0][0]


def test_a_unit_covered_meanwhile_is_not_reminded_again(
    remind, town, deadline_programme, alice, alice_unit, certified
):
    remind(date(2026, 1, 30))
    cover(alice_unit, certified, by=alice)
    coverage.coverage_refresh()

    assert remind(date(2026, 2, 22)) == {"reminders": 0, "reports": 0}
    assert len(mail.outbox) == 1


def test_a_unit_that_comes_into_scope_late_gets_the_reminder_due_now(
    remind, town, deadline_programme, alice_org, alice, regions
):
    remind(date(2026, 1, 30))
    late = shop(alice_org, alice, regions["grid"], "新开小店")
    coverage.coverage_refresh()

    # 4 days before: the 7-day reminder, for alice's shop and the new one (not the 30-day one).
    assert remind(date(2026, 2, 25))["reminders"] == 2
    assert list(ProgrammeNotice.objects.filter(unit=late).values_list("kind", flat=True)) == [
        "reminder_7"
    ]
    assert "新开小店" in mail.outbox[-1].body and "Alice's shop" in mail.outbox[-1].body


def test_one_e_mail_per_organisation_names_all_its_units(
    remind, town, deadline_programme, alice_org, alice, regions
):
    shop(alice_org, alice, regions["grid"], "第二家")
    coverage.coverage_refresh()

    assert remind(date(2026, 1, 30))["reminders"] == 2
    (message,) = mail.outbox
    assert "Alice's shop" in message.body and "第二家" in message.body


def test_after_the_deadline_the_authority_gets_one_report_with_the_csv(
    remind, town, deadline_programme, rita, ada, alice_unit
):
    assert remind(date(2026, 3, 2)) == {"reminders": 0, "reports": 1}
    assert remind(date(2026, 3, 3)) == {"reminders": 0, "reports": 0}

    (report,) = mail.outbox
    assert sent_to(report) == {rita.email, ada.email}
    assert deadline_programme.name in report.subject
    assert "2 个单元中已覆盖 1 个（50.0 %）" in report.body  # e-mails are written in Chinese
    assert str(deadline_programme.public_id) in report.body  # the programme page's link
    (filename, content, mimetype) = report.attachments[0]
    assert filename.endswith(".csv") and mimetype == "text/csv"
    _header, *rows = list(csv.reader(io.StringIO(content)))
    assert [row[0] for row in rows] == [alice_unit.name]


def test_reminders_are_claimed_once_even_by_two_passes(town, deadline_programme):
    with at(date(2026, 1, 30)):
        first = services._claim_reminders(deadline_programme, "reminder_30", timezone.now())
        second = services._claim_reminders(deadline_programme, "reminder_30", timezone.now())

    assert len(first) == 1 and second == []


def test_a_deadline_moved_later_starts_the_reminders_over(remind, town, deadline_programme, rita):
    remind(date(2026, 1, 30))
    with at(date(2026, 2, 1)):
        services.programme_update(programme=deadline_programme, by=rita, deadline=date(2026, 4, 1))

    assert remind(date(2026, 2, 2))["reminders"] == 0  # 58 days before now
    assert remind(date(2026, 3, 2))["reminders"] == 1  # 30 days before the new date
    assert CoverageProgramme.objects.get().notices.count() == 1
