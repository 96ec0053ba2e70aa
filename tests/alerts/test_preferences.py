"""A member's alert channels, per organisation: e-mail and SMS on or off and kinds muted, for
alerts that are not life-safety. Life-safety kinds always reach everyone, so muting one is
refused with a message on the field; another organisation's preferences are 404."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import AuditEntry
from alerts.models import NotificationPreference
from alerts.services.preferences import preference_update

pytestmark = pytest.mark.django_db

URL = reverse("alerts:preferences")


def _post(client, organisation, *, email=True, sms=True, muted=(), **headers):
    prefix = str(organisation.public_id)
    data = {"organisation": prefix, f"{prefix}-muted_kinds": list(muted)}
    if email:
        data[f"{prefix}-email"] = "on"
    if sms:
        data[f"{prefix}-sms"] = "on"
    return client.post(URL, data, **headers)


# The service -----------------------------------------------------------------------------------


def test_a_member_sets_channels_and_mutes_kinds_that_are_not_life_safety(scene, alice_org):
    preference = preference_update(
        user=scene["bob"],
        organisation=alice_org,
        email=False,
        sms=True,
        muted_kinds=["offline", "battery", "battery"],
    )

    assert (preference.email, preference.sms, preference.muted_kinds) == (
        False,
        True,
        ["battery", "offline"],
    )
    again = preference_update(
        user=scene["bob"], organisation=alice_org, email=True, sms=True, muted_kinds=[]
    )
    assert again.pk == preference.pk and again.muted_kinds == []
    assert AuditEntry.objects.filter(action="alert_preference.update", actor=scene["bob"]).count()


@pytest.mark.parametrize("kind", ["fire", "gas", "entrapment", "vitals"])
def test_a_life_safety_kind_cannot_be_muted(scene, alice_org, kind):
    with pytest.raises(ValidationError) as refused:
        preference_update(
            user=scene["alice"],
            organisation=alice_org,
            email=True,
            sms=True,
            muted_kinds=["battery", kind],
        )

    assert list(refused.value.error_dict) == ["muted_kinds"]
    assert "cannot be muted" in refused.value.message_dict["muted_kinds"][0]
    assert not NotificationPreference.objects.exists()


def test_an_unknown_kind_is_refused_on_the_field(scene, alice_org):
    with pytest.raises(ValidationError) as refused:
        preference_update(
            user=scene["alice"], organisation=alice_org, email=True, sms=True, muted_kinds=["x"]
        )

    assert list(refused.value.error_dict) == ["muted_kinds"]


def test_preferences_are_only_for_ones_own_organisations(scene, alice_org):
    with pytest.raises(PermissionDenied):
        preference_update(
            user=scene["fiona"], organisation=alice_org, email=False, sms=False, muted_kinds=[]
        )


# The page --------------------------------------------------------------------------------------


def test_the_page_lists_each_organisation_and_says_life_safety_always_gets_through(
    scene, client_for, alice_org
):
    page = client_for(scene["alice"]).get(URL)

    assert page.status_code == 200
    body = page.content.decode()
    assert f'id="preference-{alice_org.public_id}"' in body
    assert "always reach everyone" in body
    for label in ("Fire", "Gas leak", "Elevator entrapment", "Vital signs or fall"):
        assert label in body.split('id="life-safety-note"')[1].split("</p>")[0]
    assert 'value="battery"' in body and 'value="fire"' not in body  # only mutable kinds offered


def test_saving_without_scripts_redirects_with_a_message(scene, client_for, alice_org):
    client = client_for(scene["vera"])  # a viewer too chooses her own channels

    response = _post(client, alice_org, email=False, muted=["battery"])

    assert response.status_code == 302 and response["Location"] == URL
    preference = NotificationPreference.objects.get(user=scene["vera"], organisation=alice_org)
    assert (preference.email, preference.sms, preference.muted_kinds) == (False, True, ["battery"])
    page = client.get(URL).content.decode()
    assert f'name="{alice_org.public_id}-email"' in page
    assert f'id="id_{alice_org.public_id}-email" checked' not in page
    assert f'id="id_{alice_org.public_id}-sms" checked' in page
    assert re.search(r'value="battery" id="[^"]+" checked', page)


def test_saving_with_htmx_swaps_the_organisations_card(scene, client_for, alice_org):
    response = _post(client_for(scene["alice"]), alice_org, sms=False, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    card = response.content.decode()
    assert card.lstrip().startswith(f'<article id="preference-{alice_org.public_id}"')
    assert "Saved." in card


def test_muting_a_life_safety_kind_on_the_page_is_refused_naming_the_field(
    scene, client_for, alice_org
):
    response = _post(client_for(scene["alice"]), alice_org, muted=["battery", "fire"])

    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="id_{alice_org.public_id}-muted_kinds_errors"' in body
    assert "Mute these kinds: Fire alerts are life-safety alerts" in body
    assert not NotificationPreference.objects.exists()


def test_another_organisations_preferences_are_404(scene, client_for, alice_org):
    response = _post(client_for(scene["fiona"]), alice_org)

    assert response.status_code == 404
    assert not NotificationPreference.objects.exists()
