"""One e-mail to many people, each in their own language (accounts.mail)."""

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.mail import Email, email_send_per_language, language_of
from tests import factories

pytestmark = pytest.mark.django_db


def compose() -> Email:
    """A message in the active language, as the callers write theirs."""
    return Email(
        _("Log in"),
        _("Welcome to SafeUnit, %(name)s.") % {"name": "…"},
        attachments=[("list.csv", _("Unit") + "\n", "text/csv")],
    )


def test_each_language_gets_its_own_e_mail_written_in_it(alice, bob, charlie):
    alice.language = "en"
    alice.save()
    languages_composed = []

    def compose_and_note() -> Email:
        languages_composed.append(translation.get_language())
        return compose()

    sent = email_send_per_language(
        recipients=[alice, bob, charlie, "desk@example.cn", "Alice@example.cn"],
        compose=compose_and_note,
    )

    assert sent == 2 and languages_composed == ["en", "zh-hans"]
    english, chinese = mail.outbox
    assert english.to == [alice.email]
    assert (english.subject, english.body) == ("Log in", "Welcome to SafeUnit, ….")
    assert english.attachments == [("list.csv", "Unit\n", "text/csv")]
    # Bob and Charlie never chose; a bare address has no account: Chinese, the platform's.
    assert chinese.to == [bob.email, charlie.email, "desk@example.cn"]
    assert chinese.subject == "登录" and "欢迎使用 SafeUnit" in chinese.body
    assert chinese.attachments[0][1] != "Unit\n"


def test_nobody_to_tell_sends_nothing():
    assert email_send_per_language(recipients=[], compose=compose) == 0
    assert not mail.outbox


def test_a_language_no_longer_offered_reads_as_chinese(alice):
    alice.language = "fr"  # e.g. a language taken out of settings.LANGUAGES later

    assert language_of(alice) == "zh-hans"
    assert language_of(None) == "zh-hans"
    assert language_of(factories.UserFactory(language="en")) == "en"
