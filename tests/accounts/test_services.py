import time

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import AuditEntry, Invitation, Membership


def test_an_organisation_keeps_at_least_one_owner(alice, alice_org):
    own = Membership.objects.get(user=alice, organisation=alice_org)

    with pytest.raises(ValidationError) as error:
        services.membership_change_role(membership=own, role="manager", by=alice)

    assert "role" in error.value.message_dict
    own.refresh_from_db()
    assert own.role == "owner"


def test_only_an_owner_makes_an_owner(alice, bob, vera, alice_org):
    bob_membership = Membership.objects.get(user=bob, organisation=alice_org)
    services.membership_change_role(membership=bob_membership, role="manager", by=alice)
    vera_membership = Membership.objects.get(user=vera, organisation=alice_org)

    with pytest.raises(ValidationError) as error:
        services.membership_change_role(membership=vera_membership, role="owner", by=bob)

    assert "role" in error.value.message_dict


def test_viewer_cannot_invite(vera, alice_org):
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            organisation=alice_org, email="x@example.cn", role="staff", by=vera
        )
    assert not Invitation.objects.exists()


def test_inviting_again_replaces_the_pending_invitation(alice, alice_org):
    first = services.invitation_create(
        organisation=alice_org, email="new@example.cn", role="staff", by=alice
    )
    second = services.invitation_create(
        organisation=alice_org, email="NEW@example.cn", role="viewer", by=alice
    )

    first.refresh_from_db()
    assert first.revoked_at is not None
    assert second.is_pending


def test_every_write_is_audited(alice, alice_org):
    services.invitation_create(
        organisation=alice_org, email="new@example.cn", role="staff", by=alice
    )
    entry = AuditEntry.objects.filter(action="invitation.create").get()
    assert entry.actor == alice and entry.organisation == alice_org
    assert entry.changes == {"email": "new@example.cn", "role": "staff"}


@pytest.mark.celery
def test_invitation_email_is_sent_by_a_real_worker_after_commit(alice, alice_org, celery_worker):
    invitation = services.invitation_create(
        organisation=alice_org, email="new@example.cn", role="staff", by=alice, language="en"
    )

    deadline = time.monotonic() + 10
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.cn"]
    assert "Alice's shop" in message.subject
    assert services.invitation_link_token(invitation) in message.body


def test_an_invitation_reaches_someone_with_an_account_in_their_own_language(alice, alice_org):
    from tests import factories

    factories.UserFactory(email="known@example.cn", language="en")
    newcomer = services.invitation_create(
        organisation=alice_org, email="new@example.cn", role="staff", by=alice, language="zh-hans"
    )
    known = services.invitation_create(
        organisation=alice_org, email="KNOWN@example.cn", role="staff", by=alice, language="zh-hans"
    )
    mail.outbox.clear()

    services.invitation_send_email(invitation=newcomer)
    services.invitation_send_email(invitation=known)

    chinese, english = mail.outbox
    assert chinese.subject == "您受邀在 SafeUnit 上加入Alice's shop"  # the inviter's language
    assert english.subject == "You are invited to join Alice's shop on SafeUnit"
