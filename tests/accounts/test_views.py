import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, Invitation, Membership, Organisation, User


def invitation_link(invitation):
    return reverse("accounts:invitation_accept", args=[services.invitation_link_token(invitation)])


# Sign up, log in, log out -------------------------------------------------------------------


def test_sign_up_as_a_unit_logs_in_and_asks_for_the_unit_profile(client, db):
    response = client.post(
        reverse("accounts:signup"),
        {
            "kind": "unit",
            "organisation_name": "老王烧烤",
            "full_name": "王老板",
            "email": "Wang@Example.cn",
            "password": "a-long-safe-password",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("units:create")
    user = User.objects.get(email="wang@example.cn")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.organisation.kind == Organisation.Kind.UNIT
    assert user.groups.filter(pk=membership.organisation.group_id).exists()
    assert client.get(reverse("home")).context["user"] == user


def test_sign_up_as_a_vendor(client, db):
    client.post(
        reverse("accounts:signup"),
        {
            "kind": "vendor",
            "organisation_name": "安消科技",
            "full_name": "李经理",
            "email": "li@vendor.cn",
            "password": "a-long-safe-password",
        },
    )

    assert Organisation.objects.get(name="安消科技").kind == Organisation.Kind.VENDOR


@pytest.mark.parametrize(
    ("field", "data", "message"),
    [
        ("email", {"email": "alice@example.cn"}, "already exists"),
        ("email", {"email": "not-an-address"}, "valid email"),
        ("password", {"password": "123"}, "too short"),
        ("organisation_name", {"organisation_name": ""}, "required"),
        ("kind", {"kind": "authority"}, "valid choice"),
    ],
)
def test_sign_up_bad_input_names_the_field_and_writes_nothing(client, alice, field, data, message):
    settings_language = {"HTTP_ACCEPT_LANGUAGE": "en"}
    payload = {
        "kind": "unit",
        "organisation_name": "小店",
        "full_name": "某人",
        "email": "new@example.cn",
        "password": "a-long-safe-password",
    }
    payload.update(data)
    users, organisations = User.objects.count(), Organisation.objects.count()

    response = client.post(reverse("accounts:signup"), payload, **settings_language)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert message in str(response.context["form"].errors[field])
    assert (User.objects.count(), Organisation.objects.count()) == (users, organisations)


def test_log_in_by_email_ignores_case_and_log_out(client, alice):
    response = client.post(
        reverse("accounts:login"), {"username": "ALICE@example.cn", "password": "correct-horse-42"}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == alice

    client.post(reverse("accounts:logout"))
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_wrong_password_is_refused(client, alice):
    response = client.post(
        reverse("accounts:login"), {"username": "alice@example.cn", "password": "wrong"}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_pages_ask_anonymous_visitors_to_log_in(client, db):
    for name in ("accounts:members", "accounts:api_tokens"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


# Password reset (the e-mail goes through a real Celery worker) -------------------------------


@pytest.mark.celery
def test_password_reset_mail_is_sent_by_the_worker_and_its_link_works(
    client, alice, celery_worker, settings
):
    client.post(reverse("accounts:password_reset"), {"email": "alice@example.cn"})

    _wait_for(lambda: len(mail.outbox) == 1)
    link = re.search(r"https?://[^/]+(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "another-long-pass-99", "new_password2": "another-long-pass-99"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("another-long-pass-99")


@pytest.mark.celery
def test_password_reset_mail_is_in_the_accounts_language_not_the_pages(
    client, alice, celery_worker
):
    alice.language = "en"
    alice.save(update_fields=["language"])

    client.post(
        reverse("accounts:password_reset"), {"email": alice.email}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    _wait_for(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].subject == "Reset your SafeUnit password"


def _wait_for(condition, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


# Organisation switcher ----------------------------------------------------------------------


def test_switching_organisation(client_for, alice, alice_org, charlie_org, charlie):
    second = services.organisation_create(name="Alice's café", kind="unit", owner=alice)
    client = client_for(alice)

    response = client.post(
        reverse("accounts:organisation_switch"),
        {"organisation": str(second.public_id), "next": reverse("accounts:members")},
    )

    assert response.status_code == 302
    assert client.get(reverse("home")).context["current_membership"].organisation == second
    assert "organisation-switcher" in client.get(reverse("home")).content.decode()


def test_switching_to_someone_elses_organisation_is_404(client_for, alice, alice_org, charlie_org):
    response = client_for(alice).post(
        reverse("accounts:organisation_switch"), {"organisation": str(charlie_org.public_id)}
    )
    assert response.status_code == 404


def test_switch_ignores_an_offsite_next(client_for, alice, alice_org):
    response = client_for(alice).post(
        reverse("accounts:organisation_switch"),
        {"organisation": str(alice_org.public_id), "next": "//evil.example/"},
    )
    assert response["Location"] == reverse("home")


# Members and invitations --------------------------------------------------------------------


def test_members_page_lists_members_and_pending_invitations(client_for, alice, alice_org):
    services.invitation_create(
        organisation=alice_org, email="new@example.cn", role="staff", by=alice
    )

    response = client_for(alice).get(reverse("accounts:members"))

    body = response.content.decode()
    assert "bob@example.cn" in body and "vera@example.cn" in body
    assert "new@example.cn" in body
    assert 'id="invite-form"' in body


def test_members_page_query_count_does_not_grow_with_members(
    client_for, alice, alice_org, django_assert_num_queries, django_assert_max_num_queries
):
    from tests import factories

    client = client_for(alice)
    client.get(reverse("accounts:members"))  # warm the session
    with django_assert_max_num_queries(8) as small:
        client.get(reverse("accounts:members"))
    for _ in range(10):
        factories.member_add(alice_org, factories.UserFactory(), "staff")
        services.invitation_create(
            organisation=alice_org, email=f"x{_}@example.cn", role="viewer", by=alice
        )
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(reverse("accounts:members"))


def test_manager_invites_and_the_invitee_signs_up_through_the_link(
    client_for, client, alice, alice_org
):
    response = client_for(alice).post(
        reverse("accounts:invitation_create"), {"email": "Newbie@Example.cn", "role": "staff"}
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="newbie@example.cn")

    page = client.get(invitation_link(invitation))
    assert page.status_code == 200 and "signup_form" in page.context
    response = client.post(
        invitation_link(invitation), {"full_name": "新人", "password": "a-long-safe-password"}
    )

    assert response.status_code == 302
    user = User.objects.get(email="newbie@example.cn")
    assert Membership.objects.get(user=user, organisation=alice_org).role == "staff"
    assert client.get(reverse("home")).context["user"] == user


def test_invitation_is_single_use(client_for, alice, alice_org, charlie):
    invitation = services.invitation_create(
        organisation=alice_org, email="charlie@example.cn", role="viewer", by=alice
    )
    client = client_for(charlie)

    first = client.post(invitation_link(invitation))
    second = client.post(invitation_link(invitation))

    assert first.status_code == 302
    assert second.status_code == 410
    assert Membership.objects.filter(user=charlie, organisation=alice_org).count() == 1


def test_invitation_expires(client_for, alice, alice_org, charlie, settings):
    invitation = services.invitation_create(
        organisation=alice_org, email="charlie@example.cn", role="viewer", by=alice
    )
    later = timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS, minutes=1)
    with time_machine.travel(later):
        response = client_for(charlie).post(invitation_link(invitation))

    assert response.status_code in (404, 410)
    assert not Membership.objects.filter(user=charlie, organisation=alice_org).exists()


def test_revoked_invitation_cannot_be_used(client_for, alice, alice_org, charlie):
    invitation = services.invitation_create(
        organisation=alice_org, email="charlie@example.cn", role="viewer", by=alice
    )
    client_for(alice).post(reverse("accounts:invitation_revoke", args=[invitation.public_id]))

    response = client_for(charlie).post(invitation_link(invitation))

    assert response.status_code == 410
    assert not Membership.objects.filter(user=charlie, organisation=alice_org).exists()


def test_invitation_for_another_address_is_refused(client_for, alice, alice_org, charlie):
    invitation = services.invitation_create(
        organisation=alice_org, email="someone@example.cn", role="viewer", by=alice
    )
    response = client_for(charlie).post(invitation_link(invitation))
    assert response.status_code == 403
    assert not Membership.objects.filter(user=charlie, organisation=alice_org).exists()


def test_forged_invitation_link_is_404(client, db):
    response = client.get(reverse("accounts:invitation_accept", args=["forged-token"]))
    assert response.status_code == 404


def test_inviting_an_existing_member_names_the_email_field(client_for, alice, alice_org):
    response = client_for(alice).post(
        reverse("accounts:invitation_create"),
        {"email": "bob@example.cn", "role": "staff"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "already a member" in str(response.context["invite_form"].errors["email"])
    assert not Invitation.objects.filter(email="bob@example.cn").exists()


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_staff_and_viewers_cannot_invite_or_change_roles(request, client_for, alice_org, persona):
    user = request.getfixturevalue(persona)
    client = client_for(user)
    bob_membership = Membership.objects.get(organisation=alice_org, user__email="bob@example.cn")

    invite = client.post(
        reverse("accounts:invitation_create"), {"email": "x@example.cn", "role": "staff"}
    )
    change = client.post(
        reverse("accounts:member_change_role", args=[bob_membership.pk]), {"role": "owner"}
    )

    assert invite.status_code == 403
    assert not Invitation.objects.exists()
    bob_membership.refresh_from_db()
    assert bob_membership.role == "staff"
    assert change.status_code in (302, 403)


def test_outsider_gets_404_on_members_of_another_organisation(
    client_for, alice_org, charlie, charlie_org, alice
):
    invitation = services.invitation_create(
        organisation=alice_org, email="new@example.cn", role="staff", by=alice
    )
    bob_membership = Membership.objects.get(organisation=alice_org, user__email="bob@example.cn")
    client = client_for(charlie)

    assert (
        client.post(reverse("accounts:invitation_revoke", args=[invitation.public_id])).status_code
        == 404
    )
    assert (
        client.post(reverse("accounts:member_remove", args=[bob_membership.pk])).status_code == 404
    )
    assert (
        client.post(
            reverse("accounts:member_change_role", args=[bob_membership.pk]), {"role": "viewer"}
        ).status_code
        == 404
    )
    assert "bob@example.cn" not in client.get(reverse("accounts:members")).content.decode()
    assert Membership.objects.filter(pk=bob_membership.pk, role="staff").exists()


def test_owner_changes_a_role_with_htmx(client_for, alice, alice_org):
    bob_membership = Membership.objects.get(organisation=alice_org, user__email="bob@example.cn")
    response = client_for(alice).post(
        reverse("accounts:member_change_role", args=[bob_membership.pk]),
        {"role": "manager"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="members"' in response.content.decode()
    bob_membership.refresh_from_db()
    assert bob_membership.role == "manager"


def test_the_last_owner_cannot_leave(client_for, alice, alice_org):
    own = Membership.objects.get(organisation=alice_org, user=alice)
    client_for(alice).post(reverse("accounts:member_remove", args=[own.pk]))
    assert Membership.objects.filter(pk=own.pk, role="owner").exists()


def test_owner_removes_a_member_who_then_loses_access(
    client_for, alice, alice_org, bob, alice_unit
):
    bob_membership = Membership.objects.get(organisation=alice_org, user=bob)
    client_for(alice).post(reverse("accounts:member_remove", args=[bob_membership.pk]))

    assert not Membership.objects.filter(pk=bob_membership.pk).exists()
    assert not bob.groups.filter(pk=alice_org.group_id).exists()
    assert (
        client_for(bob).get(reverse("units:detail", args=[alice_unit.public_id])).status_code == 404
    )


# API tokens ---------------------------------------------------------------------------------


def test_token_secret_is_shown_once_and_stored_hashed(client_for, alice):
    client = client_for(alice)
    response = client.post(reverse("accounts:api_tokens"), {"name": "物业系统"})

    secret = response.context["new_secret"]
    token = ApiToken.objects.get(user=alice)
    assert secret.startswith("su_") and secret not in token.key_hash
    assert token.key_hash == ApiToken.hash_key(secret)
    assert secret not in client.get(reverse("accounts:api_tokens")).content.decode()


def test_token_name_is_required(client_for, alice):
    response = client_for(alice).post(reverse("accounts:api_tokens"), {"name": ""})
    assert "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_tokens_of_others_cannot_be_revoked(client_for, alice, charlie):
    token, _secret = services.api_token_create(user=alice, name="mine")
    response = client_for(charlie).post(reverse("accounts:api_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None

    client_for(alice).post(reverse("accounts:api_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


# Language -----------------------------------------------------------------------------------


def test_chinese_by_default_and_english_on_request(client, db, settings):
    settings.LANGUAGE_CODE = "zh-hans"  # production's default (tests otherwise read English)
    assert '<html lang="zh-hans">' in client.get(reverse("accounts:login")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get(reverse("accounts:login")).content.decode()
