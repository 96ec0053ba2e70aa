"""Each person's language: set when they sign up, changed on their account page or with the
language switcher, and followed by the pages after they log in (their e-mails and SMS follow
it too: see tests/accounts/test_mail.py and the billing, oversight and alerts tests)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import AuditEntry, User
from tests import factories

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
SIGN_UP = {
    "kind": "unit",
    "organisation_name": "老王烧烤",
    "full_name": "王老板",
    "password": "a-long-safe-password",
}


def page_language(client: Client) -> str:
    """The language of a page that anyone, signed in or not, can open."""
    html = client.get(reverse("accounts:password_reset")).content.decode()
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


# Sign-up and invitations --------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "language"), [(ENGLISH, "en"), (CHINESE, "zh-hans")])
def test_sign_up_stores_the_language_of_the_page(client, headers, language):
    response = client.post(
        reverse("accounts:signup"), {**SIGN_UP, "email": "wang@example.cn"}, **headers
    )

    assert response.status_code == 302
    assert User.objects.get(email="wang@example.cn").language == language


def test_a_new_account_made_from_an_invitation_takes_the_page_language(
    client_for, client, alice, alice_org
):
    client_for(alice).post(
        reverse("accounts:invitation_create"), {"email": "newbie@example.cn", "role": "staff"}
    )
    invitation = alice_org.invitations.get()
    link = reverse("accounts:invitation_accept", args=[services.invitation_link_token(invitation)])

    client.post(link, {"full_name": "New", "password": "a-long-safe-password"}, **ENGLISH)

    assert User.objects.get(email="newbie@example.cn").language == "en"


def test_accounts_made_without_a_page_read_chinese(db):
    user = services.user_create(email="ops@example.cn", password=None, full_name="Ops")
    assert user.language == "zh-hans"


# The language switcher and logging in -------------------------------------------------------


def test_switching_language_while_signed_in_is_remembered_and_applied_at_next_login(
    alice, settings
):
    settings.LANGUAGE_CODE = "zh-hans"  # production's default (tests otherwise read English)
    phone = Client()
    phone.post(reverse("accounts:login"), {"username": alice.email, "password": "correct-horse-42"})
    assert page_language(phone) == "zh-hans"

    phone.post(reverse("set_language"), {"language": "en", "next": "/"})

    alice.refresh_from_db()
    assert alice.language == "en"
    assert AuditEntry.objects.filter(action="user.language_set", target_id=str(alice.pk)).exists()
    laptop = Client()  # another browser, which has never been told
    assert page_language(laptop) == "zh-hans"
    response = laptop.post(
        reverse("accounts:login"), {"username": alice.email, "password": "correct-horse-42"}
    )
    assert response.status_code == 302
    assert page_language(laptop) == "en"
    assert '<html lang="en">' in laptop.get(reverse("home")).content.decode()


def test_the_saved_language_wins_over_the_browser_at_login(alice, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    browser = Client()
    browser.post(reverse("set_language"), {"language": "en", "next": "/"})  # not signed in
    assert page_language(browser) == "en"
    assert User.objects.get(pk=alice.pk).language == "zh-hans"

    browser.post(
        reverse("accounts:login"), {"username": alice.email, "password": "correct-horse-42"}
    )

    assert page_language(browser) == "zh-hans"


def test_the_switcher_ignores_an_unknown_language(client_for, alice):
    response = client_for(alice).post(reverse("set_language"), {"language": "fr", "next": "/"})

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.language == "zh-hans"


# The account page ---------------------------------------------------------------------------


def test_the_account_page_shows_and_saves_name_phone_and_language(client_for, alice, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client = client_for(alice)
    page = client.get(reverse("accounts:profile"))
    assert page.status_code == 200
    assert page.context["form"]["language"].value() == "zh-hans"
    assert f'href="{reverse("accounts:profile")}"' in page.content.decode()  # in the menu

    response = client.post(
        reverse("accounts:profile"),
        {"full_name": "Alice Wang", "phone": "139 0000 0001", "language": "en"},
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.full_name, alice.phone, alice.language) == ("Alice Wang", "139 0000 0001", "en")
    after = client.get(reverse("accounts:profile"))
    assert '<html lang="en">' in after.content.decode()  # the pages follow at once
    assert "Your account is saved." in after.content.decode()
    entry = AuditEntry.objects.get(action="user.update")
    assert entry.changes["language"] == {"from": "zh-hans", "to": "en"}


def test_the_account_page_refuses_an_unknown_language_naming_the_field(client_for, alice):
    response = client_for(alice).post(
        reverse("accounts:profile"), {"full_name": "Alice", "phone": "", "language": "fr"}
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["language"]
    assert "Language: Choose one of the languages offered." in response.content.decode()
    alice.refresh_from_db()
    assert alice.language == "zh-hans"


def test_the_account_page_refuses_a_bad_phone_naming_the_field(client_for, alice):
    response = client_for(alice).post(
        reverse("accounts:profile"), {"full_name": "Alice", "phone": "call me", "language": "en"}
    )

    assert "Mobile phone: Enter a valid phone number." in response.content.decode()
    alice.refresh_from_db()
    assert (alice.phone, alice.language) == ("", "zh-hans")


def test_the_account_page_needs_a_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_account_page_only_ever_changes_ones_own_account(client_for, alice, charlie):
    client_for(charlie).post(
        reverse("accounts:profile"), {"full_name": "C", "phone": "", "language": "en"}
    )

    alice.refresh_from_db()
    charlie.refresh_from_db()
    assert (alice.full_name, alice.language) == ("Alice", "zh-hans")
    assert (charlie.full_name, charlie.language) == ("C", "en")


def test_the_service_refuses_an_unknown_language_under_its_field(alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.user_language_set(user=alice, language="xx")

    assert list(refused.value.message_dict) == ["language"]


# Admin --------------------------------------------------------------------------------------


def test_the_admin_shows_and_edits_the_language(client_for, alice):
    staff = factories.UserFactory(email="ops@example.cn", is_staff=True, is_superuser=True)
    client = client_for(staff)

    page = client.get(reverse("admin:accounts_user_change", args=[alice.pk]))
    listing = client.get(reverse("admin:accounts_user_changelist"), {"language__exact": "en"})

    assert page.status_code == 200
    assert page.context["adminform"].form["language"].value() == "zh-hans"
    assert listing.status_code == 200
    assert alice.email not in listing.content.decode()
