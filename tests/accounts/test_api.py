"""The accounts API: my organisations, members, invitations and API tokens.

alice owns alice_org, bob is staff there, vera a viewer; charlie (another shop) must get 404
on every object endpoint of alice_org, reads and writes alike.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken, AuditEntry, Invitation, Membership
from tests import factories

Role = Membership.Role


def _members_url(organisation, member_id=None):
    base = f"/api/v1/organisations/{organisation.public_id}/members/"
    return f"{base}{member_id}/" if member_id else base


def _invitations_url(organisation, invitation_id=None):
    base = f"/api/v1/organisations/{organisation.public_id}/invitations/"
    return f"{base}{invitation_id}/" if invitation_id else base


def _membership(organisation, user) -> Membership:
    return Membership.objects.get(organisation=organisation, user=user)


def _query_count(client, url) -> int:
    client.get(url)  # warm up: the first use of a token stamps last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


# Authentication --------------------------------------------------------------------------------


def test_anonymous_requests_are_told_to_authenticate_with_a_bearer_token(db):
    response = APIClient().get("/api/v1/organisations/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_session_works_as_well_as_a_token(alice_org, alice, client_for):
    response = client_for(alice).get("/api/v1/organisations/")

    assert response.status_code == 200
    assert [row["name"] for row in response.json()] == ["Alice's shop"]


def test_an_unknown_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer su_not-a-real-token")

    assert client.get("/api/v1/organisations/").status_code == 401


# Organisations ---------------------------------------------------------------------------------


def test_organisations_lists_my_memberships_with_my_role(
    alice_org, charlie_org, alice, vera, charlie, api_client_for
):
    alice_rows = api_client_for(alice).get("/api/v1/organisations/").json()
    vera_rows = api_client_for(vera).get("/api/v1/organisations/").json()
    charlie_rows = api_client_for(charlie).get("/api/v1/organisations/").json()

    assert alice_rows == [
        {"id": str(alice_org.public_id), "name": "Alice's shop", "kind": "unit", "role": "owner"}
    ]
    assert [(row["name"], row["role"]) for row in vera_rows] == [("Alice's shop", "viewer")]
    assert [row["id"] for row in charlie_rows] == [str(charlie_org.public_id)]


def test_organisations_list_query_count_is_constant(
    alice, api_client_for, django_assert_num_queries
):
    client = api_client_for(alice)
    factories.organisation_for(alice, name="Shop 1")
    before = _query_count(client, "/api/v1/organisations/")

    for number in range(2, 6):
        factories.organisation_for(alice, name=f"Shop {number}")

    with django_assert_num_queries(before):
        client.get("/api/v1/organisations/")
    assert len(client.get("/api/v1/organisations/").json()) == 5


# Members ---------------------------------------------------------------------------------------


def test_members_lists_email_name_and_role_to_every_member(alice_org, vera, api_client_for):
    response = api_client_for(vera).get(_members_url(alice_org))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["email"], row["full_name"], row["role"]) for row in rows] == [
        ("alice@example.cn", "Alice", "owner"),
        ("bob@example.cn", "Bob", "staff"),
        ("vera@example.cn", "Vera", "viewer"),
    ]
    assert response.json()["count"] == 3


def test_members_is_404_for_an_outsider_and_for_a_made_up_organisation(
    alice_org, charlie, api_client_for
):
    client = api_client_for(charlie)

    assert client.get(_members_url(alice_org)).status_code == 404
    assert (
        client.get("/api/v1/organisations/00000000-0000-0000-0000-000000000000/members/")
    ).status_code == 404


def test_members_list_query_count_is_constant(
    alice_org, alice, api_client_for, django_assert_num_queries
):
    client = api_client_for(alice)
    before = _query_count(client, _members_url(alice_org))

    for _ in range(5):
        factories.member_add(alice_org, factories.UserFactory(), Role.STAFF)

    with django_assert_num_queries(before):
        client.get(_members_url(alice_org))
    assert client.get(_members_url(alice_org)).json()["count"] == 8


def test_owner_changes_a_members_role(alice_org, alice, bob, api_client_for):
    bob_membership = _membership(alice_org, bob)

    response = api_client_for(alice).patch(
        _members_url(alice_org, bob_membership.pk), {"role": "manager"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["role"] == "manager"
    assert _membership(alice_org, bob).role == Role.MANAGER


def test_viewer_may_not_change_roles(alice_org, bob, vera, api_client_for):
    bob_membership = _membership(alice_org, bob)

    response = api_client_for(vera).patch(
        _members_url(alice_org, bob_membership.pk), {"role": "owner"}, format="json"
    )

    assert response.status_code == 403
    assert _membership(alice_org, bob).role == Role.STAFF


def test_outsider_gets_404_changing_or_removing_a_member(alice_org, bob, charlie, api_client_for):
    client = api_client_for(charlie)
    url = _members_url(alice_org, _membership(alice_org, bob).pk)

    assert client.patch(url, {"role": "viewer"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert _membership(alice_org, bob).role == Role.STAFF


def test_a_membership_of_another_organisation_is_404_inside_mine(
    alice_org, charlie_org, alice, charlie, api_client_for
):
    charlie_membership = _membership(charlie_org, charlie)

    response = api_client_for(alice).delete(_members_url(alice_org, charlie_membership.pk))

    assert response.status_code == 404
    assert Membership.objects.filter(pk=charlie_membership.pk).exists()


def test_an_unknown_role_is_400_naming_role(alice_org, alice, bob, api_client_for):
    response = api_client_for(alice).patch(
        _members_url(alice_org, _membership(alice_org, bob).pk), {"role": "boss"}, format="json"
    )

    assert response.status_code == 400
    assert "role" in response.json()
    assert _membership(alice_org, bob).role == Role.STAFF


def test_the_last_owner_cannot_step_down(alice_org, alice, api_client_for):
    client = api_client_for(alice)
    audit_before = AuditEntry.objects.count()

    response = client.patch(
        _members_url(alice_org, _membership(alice_org, alice).pk),
        {"role": "manager"},
        format="json",
    )

    assert response.status_code == 400
    assert "role" in response.json()
    assert _membership(alice_org, alice).role == Role.OWNER
    assert AuditEntry.objects.count() == audit_before


def test_owner_removes_a_member(alice_org, alice, vera, api_client_for):
    response = api_client_for(alice).delete(
        _members_url(alice_org, _membership(alice_org, vera).pk)
    )

    assert response.status_code == 204
    assert not Membership.objects.filter(organisation=alice_org, user=vera).exists()
    assert not vera.groups.filter(pk=alice_org.group_id).exists()


def test_viewer_may_not_remove_others(alice_org, bob, vera, api_client_for):
    response = api_client_for(vera).delete(_members_url(alice_org, _membership(alice_org, bob).pk))

    assert response.status_code == 403
    assert Membership.objects.filter(organisation=alice_org, user=bob).exists()


def test_the_last_owner_cannot_be_removed(alice_org, alice, api_client_for):
    response = api_client_for(alice).delete(
        _members_url(alice_org, _membership(alice_org, alice).pk)
    )

    assert response.status_code == 400
    assert "role" in response.json()
    assert Membership.objects.filter(organisation=alice_org, user=alice).exists()


# Invitations -----------------------------------------------------------------------------------


def test_owner_invites_by_email_and_sees_it_pending(alice_org, alice, api_client_for):
    client = api_client_for(alice)

    response = client.post(
        _invitations_url(alice_org), {"email": "Dora@Example.cn", "role": "staff"}, format="json"
    )

    assert response.status_code == 201
    invitation = Invitation.objects.get(organisation=alice_org)
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "dora@example.cn",
        "staff",
        alice,
    )
    assert response.json()["id"] == str(invitation.public_id)
    listed = client.get(_invitations_url(alice_org)).json()["results"]
    assert [(row["email"], row["role"], row["invited_by"]) for row in listed] == [
        ("dora@example.cn", "staff", "alice@example.cn")
    ]


def test_inviting_an_existing_member_is_400_naming_email(alice_org, alice, api_client_for):
    response = api_client_for(alice).post(
        _invitations_url(alice_org), {"email": "bob@example.cn", "role": "viewer"}, format="json"
    )

    assert response.status_code == 400
    assert "bob@example.cn" in response.json()["email"][0]
    assert Invitation.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"role": "staff"}, "email"),
        ({"email": "not-an-address", "role": "staff"}, "email"),
        ({"email": "dora@example.cn"}, "role"),
    ],
)
def test_bad_invitation_input_is_400_naming_the_field(
    alice_org, alice, api_client_for, payload, field
):
    response = api_client_for(alice).post(_invitations_url(alice_org), payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Invitation.objects.count() == 0


def test_viewer_may_see_but_not_send_invitations(alice_org, vera, api_client_for):
    client = api_client_for(vera)

    assert client.get(_invitations_url(alice_org)).status_code == 200
    response = client.post(
        _invitations_url(alice_org), {"email": "dora@example.cn", "role": "staff"}, format="json"
    )
    assert response.status_code == 403
    assert Invitation.objects.count() == 0


def test_outsider_gets_404_on_every_invitation_endpoint(alice_org, alice, charlie, api_client_for):
    invitation = services.invitation_create(
        organisation=alice_org, email="dora@example.cn", role=Role.STAFF, by=alice
    )
    client = api_client_for(charlie)

    assert client.get(_invitations_url(alice_org)).status_code == 404
    response = client.post(
        _invitations_url(alice_org), {"email": "eve@example.cn", "role": "staff"}, format="json"
    )
    assert response.status_code == 404
    assert client.delete(_invitations_url(alice_org, invitation.public_id)).status_code == 404
    assert Invitation.objects.count() == 1
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_owner_revokes_an_invitation(alice_org, alice, api_client_for):
    invitation = services.invitation_create(
        organisation=alice_org, email="dora@example.cn", role=Role.STAFF, by=alice
    )
    client = api_client_for(alice)

    response = client.delete(_invitations_url(alice_org, invitation.public_id))

    assert response.status_code == 204
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert client.get(_invitations_url(alice_org)).json()["results"] == []


def test_viewer_may_not_revoke_an_invitation(alice_org, alice, vera, api_client_for):
    invitation = services.invitation_create(
        organisation=alice_org, email="dora@example.cn", role=Role.STAFF, by=alice
    )

    response = api_client_for(vera).delete(_invitations_url(alice_org, invitation.public_id))

    assert response.status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_invitations_list_query_count_is_constant(
    alice_org, alice, api_client_for, django_assert_num_queries
):
    client = api_client_for(alice)
    services.invitation_create(
        organisation=alice_org, email="first@example.cn", role=Role.STAFF, by=alice
    )
    before = _query_count(client, _invitations_url(alice_org))

    for number in range(5):
        services.invitation_create(
            organisation=alice_org, email=f"p{number}@example.cn", role=Role.VIEWER, by=alice
        )

    with django_assert_num_queries(before):
        client.get(_invitations_url(alice_org))
    assert client.get(_invitations_url(alice_org)).json()["count"] == 6


# API tokens ------------------------------------------------------------------------------------


def test_a_new_tokens_secret_is_shown_once_and_works(alice_org, alice, client_for):
    session = client_for(alice)

    response = session.post("/api/v1/tokens/", {"name": "CI"}, content_type="application/json")

    assert response.status_code == 201
    secret = response.json()["secret"]
    assert secret.startswith("su_")
    token = ApiToken.objects.get(user=alice, name="CI")
    assert token.key_hash == ApiToken.hash_key(secret)
    assert secret not in session.get("/api/v1/tokens/").content.decode()
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert bearer.get("/api/v1/organisations/").json()[0]["name"] == "Alice's shop"


def test_tokens_lists_only_my_live_tokens(alice, bob, api_client_for):
    services.api_token_create(user=alice, name="laptop")
    services.api_token_create(user=bob, name="bob's")
    revoked, _secret = services.api_token_create(user=alice, name="old")
    services.api_token_revoke(token=revoked, by=alice)

    rows = api_client_for(alice).get("/api/v1/tokens/").json()

    assert sorted(row["name"] for row in rows) == ["laptop", "tests"]
    assert all("secret" not in row for row in rows)


def test_a_token_without_a_name_is_400_naming_name(alice, api_client_for):
    client = api_client_for(alice)
    before = ApiToken.objects.count()

    response = client.post("/api/v1/tokens/", {"name": ""}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()
    assert ApiToken.objects.count() == before


def test_a_revoked_token_is_refused_with_401(alice, api_client_for):
    token, secret = services.api_token_create(user=alice, name="phone")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/organisations/").status_code == 200

    response = api_client_for(alice).delete(f"/api/v1/tokens/{token.pk}/")

    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/organisations/").status_code == 401


def test_a_token_can_revoke_itself(alice):
    token, secret = services.api_token_create(user=alice, name="leaked")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert client.get("/api/v1/tokens/").status_code == 401


def test_someone_elses_token_is_404_and_stays_valid(alice, charlie, api_client_for):
    token, secret = services.api_token_create(user=alice, name="laptop")

    response = api_client_for(charlie).delete(f"/api/v1/tokens/{token.pk}/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_tokens_list_query_count_is_constant(alice, api_client_for, django_assert_num_queries):
    client = api_client_for(alice)
    before = _query_count(client, "/api/v1/tokens/")

    for number in range(5):
        services.api_token_create(user=alice, name=f"token {number}")

    with django_assert_num_queries(before):
        client.get("/api/v1/tokens/")
    assert len(client.get("/api/v1/tokens/").json()) == 6


# My account ------------------------------------------------------------------------------------


def test_me_shows_and_changes_my_own_account(alice, api_client_for):
    client = api_client_for(alice)

    assert client.get("/api/v1/me/").json() == {
        "email": alice.email,
        "full_name": alice.full_name,
        "phone": alice.phone,
        "language": "zh-hans",
    }
    response = client.patch(
        "/api/v1/me/", {"language": "en", "email": "other@example.cn"}, format="json"
    )
    assert response.status_code == 200 and response.json()["language"] == "en"
    alice.refresh_from_db()
    assert (alice.language, alice.email) == ("en", response.json()["email"])  # e-mail read-only
    assert AuditEntry.objects.filter(action="user.update", target_id=str(alice.pk)).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"phone": "12"}, "phone"),
        ({"full_name": " "}, "full_name"),
    ],
)
def test_me_refuses_bad_values_by_field_and_changes_nothing(alice, api_client_for, change, field):
    before = (alice.full_name, alice.phone, alice.language)

    response = api_client_for(alice).patch("/api/v1/me/", change, format="json")

    assert response.status_code == 400 and field in response.json()
    alice.refresh_from_db()
    assert (alice.full_name, alice.phone, alice.language) == before


def test_me_needs_authentication(db):
    assert APIClient().get("/api/v1/me/").status_code == 401
