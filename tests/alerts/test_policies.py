"""An authority's own escalation policies (issue 6 §3: "seeded and editable by authorities"):
rita (owner of the Huangpu district authority) writes them through the service, the pages
and the API; what she writes then decides who is told about a smoke alarm in alice's shop.
Each refusal is checked where a person would meet it: a bad step names `steps`, a second
policy for the same alerts names `scenario`, a viewer gets 403, another authority's policy
404, and the platform's defaults stay read-only."""

import os
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry, Membership
from alerts import selectors
from alerts.models import Alert, Channel, EscalationPolicy, Notification, Target
from alerts.services.escalation import escalations_run, policy_for
from alerts.services.policies import policy_create, policy_delete, policy_update
from alerts.services.processing import events_process
from marketplace.models import Scenario
from tests import factories
from tests.alerts.test_processing import _send, _smoke
from units import services as unit_services
from units.models import Unit

pytestmark = pytest.mark.django_db

T = Target
FIRE_STATION_DESK = "13722220001"  # the duty officer on the fire station's roster
OPERATIONS_DESK = "021-63000001"  # the subdistrict operations centre
DISTRICT_DESK = "021-63000000"  # the district operations centre

# Rita's fire policy: the unit and the district at once, the fire station only after 2 min.
RITA_STEPS = [
    {"delay_s": 0, "targets": [T.UNIT, T.DISTRICT]},
    {"delay_s": 120, "targets": [T.RESPONDER]},
]


@pytest.fixture
def huangpu(scene, rita, authority):
    """Rita's authority (over the district alice's shop is in), after the scene is set."""
    return authority.authority


@pytest.fixture
def fire_scenario(scene):
    return Scenario.objects.get(code="fire")


@pytest.fixture
def vic(huangpu):
    """A reviewer who may read the authority's policies but not change them."""
    user = factories.UserFactory(email="vic@example.cn", full_name="Vic")
    factories.member_add(huangpu.organisation, user, Membership.Role.VIEWER)
    return user


@pytest.fixture
def otto(scene):
    """Owner of the Jing'an authority: an outsider to everything of Huangpu's."""
    user = factories.UserFactory(email="otto@example.cn", full_name="Otto")
    unit_services.authority_create(
        name="静安区城运中心", region=scene["charlie_unit"].region.parent.parent, owner=user
    )
    return user


@pytest.fixture
def rita_policy(huangpu, rita, fire_scenario):
    return policy_create(
        authority=huangpu,
        by=rita,
        name="黄浦区火灾",
        scenario=fire_scenario,
        unit_kind="",
        steps=RITA_STEPS,
    )


@pytest.fixture
def otto_policy(otto):
    return policy_create(
        authority=otto.memberships.get().organisation.authority,
        by=otto,
        name="静安区通用",
        scenario=None,
        unit_kind="",
        steps=[{"delay_s": 0, "targets": [T.UNIT]}],
    )


def _steps(policy):
    return [(step.delay_s, step.targets) for step in policy.steps.order_by("position")]


def _default(code):
    return EscalationPolicy.objects.get(authority=None, scenario__code=code, unit_kind="")


def _messages(error: ValidationError, field: str) -> list[str]:
    return ValidationError(error.message_dict[field]).messages


# The service -------------------------------------------------------------------------------------


def test_an_owner_creates_updates_and_deletes_a_policy(huangpu, rita, fire_scenario):
    policy = policy_create(
        authority=huangpu,
        by=rita,
        name="  黄浦区火灾  ",
        scenario=fire_scenario,
        unit_kind=Unit.Kind.SHOP,
        # Targets come back once each, in the order the page lists them.
        steps=[{"delay_s": 0, "targets": [T.DISTRICT, T.UNIT, T.UNIT]}],
    )
    assert (policy.name, policy.authority, policy.unit_kind) == ("黄浦区火灾", huangpu, "shop")
    assert _steps(policy) == [(0, ["unit", "district"])]
    assert policy.public_id

    policy_update(policy=policy, by=rita, name="黄浦区商铺火灾", steps=RITA_STEPS)
    policy.refresh_from_db()
    assert policy.name == "黄浦区商铺火灾"
    assert _steps(policy) == [(0, ["unit", "district"]), (120, ["responder"])]

    policy_delete(policy=policy, by=rita)
    assert not EscalationPolicy.objects.filter(authority=huangpu).exists()
    audit = list(
        AuditEntry.objects.filter(target_type="alerts.escalationpolicy")
        .order_by("pk")
        .values_list("action", "actor", "organisation")
    )
    assert audit == [
        ("escalation_policy.create", rita.pk, huangpu.organisation_id),
        ("escalation_policy.update", rita.pk, huangpu.organisation_id),
        ("escalation_policy.delete", rita.pk, huangpu.organisation_id),
    ]


def test_a_manager_may_write_policies_too(huangpu, fire_scenario):
    mona = factories.UserFactory(email="mona@example.cn")
    factories.member_add(huangpu.organisation, mona, Membership.Role.MANAGER)
    policy = policy_create(
        authority=huangpu, by=mona, name="x", scenario=None, unit_kind="", steps=RITA_STEPS
    )
    assert policy.authority == huangpu


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "Add at least one step."),
        (
            [{"delay_s": 60, "targets": [T.UNIT]}],
            "Step 0 is sent as soon as the alert is raised: its delay must be 0.",
        ),
        (
            [{"delay_s": 0, "targets": [T.UNIT]}, {"delay_s": 0, "targets": [T.DISTRICT]}],
            "Step 1 must come later than step 0: each step's delay must be longer than the one "
            "before.",
        ),
        (
            [
                {"delay_s": 0, "targets": [T.UNIT]},
                {"delay_s": 600, "targets": [T.DISTRICT]},
                {"delay_s": 300, "targets": [T.RESPONDER]},
            ],
            "Step 2 must come later than step 1: each step's delay must be longer than the one "
            "before.",
        ),
        ([{"delay_s": 0, "targets": []}], "Step 0: choose who is told."),
        ([{"delay_s": 0, "targets": ["mayor"]}], "Step 0: unknown recipients: mayor."),
        (
            [{"delay_s": -5, "targets": [T.UNIT]}],
            "Step 0: the delay is a whole number of seconds from 0 to 7 days.",
        ),
    ],
)
def test_bad_steps_are_refused_naming_the_steps(huangpu, rita, steps, message):
    with pytest.raises(ValidationError) as refused:
        policy_create(
            authority=huangpu, by=rita, name="x", scenario=None, unit_kind="", steps=steps
        )
    assert _messages(refused.value, "steps") == [message]
    assert not EscalationPolicy.objects.filter(authority=huangpu).exists()


def test_every_bad_step_is_named_at_once_and_nothing_changes(rita_policy, rita):
    with pytest.raises(ValidationError) as refused:
        policy_update(
            policy=rita_policy,
            by=rita,
            name="黄浦区火灾",
            steps=[{"delay_s": 30, "targets": []}, {"delay_s": 10, "targets": [T.UNIT]}],
        )
    assert _messages(refused.value, "steps") == [
        "Step 0 is sent as soon as the alert is raised: its delay must be 0.",
        "Step 0: choose who is told.",
        "Step 1 must come later than step 0: each step's delay must be longer than the one before.",
    ]
    assert _steps(rita_policy) == [(0, ["unit", "district"]), (120, ["responder"])]


def test_name_unit_kind_and_a_second_policy_for_the_same_alerts_are_named(
    rita_policy, huangpu, rita, fire_scenario
):
    def create(**overrides):
        arguments = {
            "authority": huangpu,
            "by": rita,
            "name": "另一个",
            "scenario": None,
            "unit_kind": "",
            "steps": RITA_STEPS,
        } | overrides
        with pytest.raises(ValidationError) as refused:
            policy_create(**arguments)
        return refused.value.message_dict

    assert create(name="  ") == {"name": ["Give the policy a name."]}
    assert create(unit_kind="castle") == {"unit_kind": ["Choose a valid kind of unit."]}
    assert create(scenario=fire_scenario) == {
        "scenario": [
            "Your authority already has a policy for this scenario and kind of unit: edit it."
        ]
    }
    # The same scenario for one kind of unit is another policy.
    policy_create(
        authority=huangpu,
        by=rita,
        name="黄浦区商铺火灾",
        scenario=fire_scenario,
        unit_kind=Unit.Kind.SHOP,
        steps=RITA_STEPS,
    )


def test_a_viewer_an_outsider_and_the_platform_defaults_are_refused(
    rita_policy, huangpu, rita, vic, otto, charlie
):
    for user in (vic, otto, charlie):
        with pytest.raises(PermissionDenied):
            policy_create(
                authority=huangpu, by=user, name="x", scenario=None, unit_kind="", steps=RITA_STEPS
            )
        with pytest.raises(PermissionDenied):
            policy_update(policy=rita_policy, by=user, name="x", steps=RITA_STEPS)
        with pytest.raises(PermissionDenied):
            policy_delete(policy=rita_policy, by=user)
    default = _default("fire")
    with pytest.raises(PermissionDenied):
        policy_update(policy=default, by=rita, name="x", steps=RITA_STEPS)
    with pytest.raises(PermissionDenied):
        policy_delete(policy=default, by=rita)
    assert _steps(rita_policy) == [(0, ["unit", "district"]), (120, ["responder"])]


# Selectors ---------------------------------------------------------------------------------------


def test_a_member_sees_their_authorities_policies_and_the_defaults(
    rita_policy, otto_policy, rita, vic, otto, charlie
):
    defaults = set(EscalationPolicy.objects.filter(authority=None))
    assert defaults  # seeded: one per scenario and the catch-all
    for user in (rita, vic):
        assert set(selectors.policy_list_for(user=user)) == defaults | {rita_policy}
        assert selectors.policy_get_for(user=user, public_id=rita_policy.public_id) == rita_policy
    assert set(selectors.policy_list_for(user=otto)) == defaults | {otto_policy}
    assert set(selectors.policy_list_for(user=charlie)) == defaults
    for user, public_id in [
        (otto, rita_policy.public_id),
        (rita, otto_policy.public_id),
        (charlie, rita_policy.public_id),
        (rita, _default("fire").public_id),  # a default is not one of the authority's
    ]:
        with pytest.raises(Http404):
            selectors.policy_get_for(user=user, public_id=public_id)


# What a policy does ------------------------------------------------------------------------------


def test_the_authoritys_policy_wins_and_its_steps_decide_who_is_told(
    client, scene, rita_policy, otto_policy
):
    _send(client, scene["token"], _smoke())
    assert events_process() == 1
    alert = Alert.objects.get()
    assert policy_for(alert) == rita_policy
    assert alert.policy == rita_policy

    step0 = set(Notification.objects.filter(step=0).values_list("channel", "address"))
    assert (Channel.IN_APP, f"user:{scene['alice'].pk}") in step0  # the unit
    assert (Channel.SMS, "13811110001") in step0  # its first emergency contact
    assert (Channel.SMS, DISTRICT_DESK) in step0  # the district, at once
    assert (Channel.SMS, FIRE_STATION_DESK) not in step0  # the fire station waits 2 minutes
    assert (Channel.SMS, OPERATIONS_DESK) not in step0  # rita's policy does not name it
    assert (Channel.IN_APP, f"user:{scene['paula'].pk}") not in step0  # nor the park office

    with time_machine.travel(alert.raised_at + timedelta(seconds=110)):
        assert escalations_run() == 0
    with time_machine.travel(alert.raised_at + timedelta(seconds=121)):
        assert escalations_run() == 1
    step1 = set(Notification.objects.filter(step=1).values_list("channel", "address"))
    assert (Channel.SMS, FIRE_STATION_DESK) in step1
    assert (Channel.SMS, DISTRICT_DESK) not in step1
    alert.refresh_from_db()
    assert alert.next_step_at is None  # rita's policy has two steps


def test_without_its_own_policy_a_region_follows_the_platform_default(client, scene, otto_policy):
    _send(client, scene["token"], _smoke())
    events_process()
    alert = Alert.objects.get()
    assert alert.policy == _default("fire")  # Jing'an's policy is not Huangpu's
    told = set(Notification.objects.filter(step=0).values_list("address", flat=True))
    assert {FIRE_STATION_DESK, OPERATIONS_DESK} <= told


def test_a_catch_all_policy_of_the_authority_beats_the_platforms_scenario_default(
    scene, huangpu, rita
):
    catch_all = policy_create(
        authority=huangpu, by=rita, name="黄浦区通用", scenario=None, unit_kind="", steps=RITA_STEPS
    )
    alert = Alert(unit=scene["shop"], scenario=Scenario.objects.get(code="fire"))
    assert policy_for(alert) == catch_all
    policy_delete(policy=catch_all, by=rita)
    assert policy_for(alert) == _default("fire")


def test_minor_alerts_stay_on_the_units_side_whatever_the_policy(client, scene, huangpu, rita):
    policy_create(
        authority=huangpu,
        by=rita,
        name="黄浦区通用",
        scenario=None,
        unit_kind="",
        steps=[{"delay_s": 0, "targets": [T.UNIT, T.DISTRICT, T.RESPONDER]}],
    )
    battery = {"id": "b-1", "ts": _smoke()["ts"], "type": "battery", "values": {"battery": 9}}
    _send(client, scene["token"], battery)
    events_process()
    alert = Alert.objects.get()
    told = set(alert.notifications.values_list("address", flat=True))
    assert f"user:{scene['alice'].pk}" in told
    assert DISTRICT_DESK not in told and FIRE_STATION_DESK not in told
    assert alert.next_step_at is None


# Pages -------------------------------------------------------------------------------------------


def _form(name, steps, *, authority=None, scenario=None, unit_kind="", initial=None, **extra):
    """POST data as the policy form sends it; `steps` as (minutes, targets) rows."""
    data = {
        "name": name,
        "scenario": scenario.pk if scenario else "",
        "unit_kind": unit_kind,
        "steps-TOTAL_FORMS": len(steps),
        "steps-INITIAL_FORMS": len(steps) if initial is None else initial,
        "steps-MIN_NUM_FORMS": 0,
        "steps-MAX_NUM_FORMS": 1000,
        **extra,
    }
    if authority is not None:
        data["authority"] = str(authority.organisation.public_id)
    for index, (minutes, targets) in enumerate(steps):
        data[f"steps-{index}-delay_minutes"] = minutes
        data[f"steps-{index}-targets"] = list(targets)
    return data


def test_the_list_shows_the_regions_policies_and_the_defaults_read_only(
    client_for, rita_policy, otto_policy, rita
):
    response = client_for(rita).get(reverse("alerts:policies"))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="nav-policies"' in page  # reachable from the reviewer's navigation
    assert f'id="policy-{rita_policy.public_id}"' in page and "黄浦区火灾" in page
    assert f'id="policy-{otto_policy.public_id}"' not in page and "静安区通用" not in page
    default = _default("fire")
    assert f'id="policy-{default.public_id}"' in page
    assert f"?copy={default.public_id}" in page  # copy to my region
    assert reverse("alerts:policy", args=[default.public_id]) not in page  # not editable
    assert "After 3 min unacknowledged" in page and "After 2 min unacknowledged" in page
    assert "The district operations centre" in page
    assert "The most specific policy wins" in page
    assert "Minor alerts (a low battery" in page
    assert 'id="policy-new"' in page


def test_the_list_costs_the_same_for_many_policies(
    client_for, huangpu, rita, django_assert_max_num_queries
):
    client = client_for(rita)
    policy_create(
        authority=huangpu, by=rita, name="p0", scenario=None, unit_kind="", steps=RITA_STEPS
    )
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("alerts:policies"))
    for kind in ("shop", "estate", "building", "park"):
        policy_create(
            authority=huangpu, by=rita, name=kind, scenario=None, unit_kind=kind, steps=RITA_STEPS
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("alerts:policies"))
    assert response.content.decode().count('class="policy"') == 5


def test_someone_in_no_authority_sees_only_the_defaults_and_cannot_create(client_for, scene):
    client = client_for(scene["alice"])
    page = client.get(reverse("alerts:policies")).content.decode()
    assert "The platform's defaults" in page
    assert 'id="policy-new"' not in page and "?copy=" not in page
    assert client.get(reverse("alerts:policy_new")).status_code == 404


def test_copy_to_my_region_prefills_the_form_with_the_defaults_steps(
    client_for, huangpu, rita, fire_scenario
):
    default = _default("fire")
    response = client_for(rita).get(reverse("alerts:policy_new"), {"copy": default.public_id})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["scenario"] == fire_scenario.pk
    assert form.initial["authority"] == str(huangpu.organisation.public_id)
    rows = [(row["delay_minutes"], row["targets"]) for row in response.context["formset"].initial]
    assert [(int(minutes), targets) for minutes, targets in rows] == [
        (delay // 60, targets) for delay, targets in _steps(default)
    ]
    page = response.content.decode()
    assert 'id="copied-from"' in page and 'id="add-step"' in page
    assert page.count('class="policy-step"') == len(rows) + 1  # and an empty "add a step" row


def test_a_policy_is_created_edited_and_deleted_through_the_pages(
    client_for, huangpu, rita, fire_scenario
):
    client = client_for(rita)
    response = client.post(
        reverse("alerts:policy_new"),
        _form(
            "黄浦区火灾",
            [(0, [T.UNIT, T.DISTRICT]), ("2.5", [T.RESPONDER]), ("", [])],  # and an empty row
            authority=huangpu,
            scenario=fire_scenario,
            initial=2,
        ),
    )
    assert response.status_code == 302 and response["Location"] == reverse("alerts:policies")
    policy = EscalationPolicy.objects.get(authority=huangpu)
    assert (policy.name, policy.scenario, policy.unit_kind) == ("黄浦区火灾", fire_scenario, "")
    assert _steps(policy) == [(0, ["unit", "district"]), (150, ["responder"])]
    assert "Saved the policy" in client.get(reverse("alerts:policies")).content.decode()

    url = reverse("alerts:policy", args=[policy.public_id])
    page = client.get(url).content.decode()
    assert 'value="2.5"' in page and 'id="policy-delete"' in page
    response = client.post(
        url,
        _form("黄浦区火灾（改）", [(0, [T.UNIT]), ("2.5", [T.RESPONDER]), (10, [T.DISTRICT])])
        | {"steps-1-DELETE": "on"},
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.name == "黄浦区火灾（改）"
    assert _steps(policy) == [(0, ["unit"]), (600, ["district"])]

    response = client.post(reverse("alerts:policy_delete", args=[policy.public_id]))
    assert response.status_code == 302
    assert not EscalationPolicy.objects.filter(pk=policy.pk).exists()


def test_the_form_names_the_field_of_each_error(client_for, rita_policy, huangpu, rita):
    client = client_for(rita)
    response = client.post(
        reverse("alerts:policy_new"),
        _form("", [(5, [T.UNIT]), (1, [])], authority=huangpu),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Name: This field is required." in page

    response = client.post(
        reverse("alerts:policy_new"), _form("又一个", [(5, [T.UNIT]), (1, [])], authority=huangpu)
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Steps: Step 0 is sent as soon as the alert is raised: its delay must be 0." in page
    assert "Steps: Step 1: choose who is told." in page
    assert "Steps: Step 1 must come later than step 0" in page

    response = client.post(
        reverse("alerts:policy_new"),
        _form("又一个", [(0, [T.UNIT])], authority=huangpu, scenario=rita_policy.scenario),
    )
    assert response.status_code == 400
    assert "Scenario: Your authority already has a policy" in response.content.decode()
    assert EscalationPolicy.objects.filter(authority=huangpu).count() == 1


def test_add_a_step_keeps_what_was_typed_and_saves_nothing(client_for, rita_policy, rita):
    url = reverse("alerts:policy", args=[rita_policy.public_id])
    response = client_for(rita).post(
        url,
        _form("改了名字", [(0, [T.UNIT]), (2, [T.RESPONDER]), ("", [])], initial=2)
        | {"add_step": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith("<form") and "<html" not in page  # the form part only
    assert 'value="改了名字"' in page
    assert page.count('class="policy-step"') == 4  # two typed, the empty one, one more
    assert page.count("Add a step") == 3  # two empty rows and the button
    rita_policy.refresh_from_db()
    assert rita_policy.name == "黄浦区火灾"  # nothing saved


def test_htmx_saves_answer_with_a_redirect_and_errors_with_the_form(client_for, rita_policy, rita):
    client = client_for(rita)
    url = reverse("alerts:policy", args=[rita_policy.public_id])
    bad = client.post(url, _form("x", [(3, [T.UNIT])]), HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and 'id="steps_errors"' in bad.content.decode()
    good = client.post(url, _form("x", [(0, [T.UNIT])]), HTTP_HX_REQUEST="true")
    assert good.status_code == 200 and good["HX-Redirect"] == reverse("alerts:policies")


def test_a_viewer_reads_the_policy_but_may_not_change_it(client_for, rita_policy, vic):
    client = client_for(vic)
    url = reverse("alerts:policy", args=[rita_policy.public_id])
    page = client.get(url).content.decode()
    assert 'id="read-only"' in page and 'id="policy-form"' not in page
    assert "After 2 min unacknowledged" in page
    assert client.post(url, _form("x", [(0, [T.UNIT])])).status_code == 403
    assert (
        client.post(reverse("alerts:policy_delete", args=[rita_policy.public_id])).status_code
        == 403
    )
    assert client.get(reverse("alerts:policy_new")).status_code == 403
    rita_policy.refresh_from_db()
    assert rita_policy.name == "黄浦区火灾"


def test_another_authoritys_policy_is_404_on_every_page(client_for, rita_policy, otto, charlie):
    for user in (otto, charlie):
        client = client_for(user)
        url = reverse("alerts:policy", args=[rita_policy.public_id])
        assert client.get(url).status_code == 404
        assert client.post(url, _form("x", [(0, [T.UNIT])])).status_code == 404
        delete = reverse("alerts:policy_delete", args=[rita_policy.public_id])
        assert client.post(delete).status_code == 404
    copy = client_for(otto).get(reverse("alerts:policy_new"), {"copy": rita_policy.public_id})
    assert copy.status_code == 404
    # A platform default is no one's to edit here.
    default_url = reverse("alerts:policy", args=[_default("fire").public_id])
    assert client_for(otto).get(default_url).status_code == 404
    assert EscalationPolicy.objects.filter(pk=rita_policy.pk).exists()


def test_the_pages_render_in_chinese_too(client_for, rita_policy, rita, settings):
    client = client_for(rita)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    for url in (
        reverse("alerts:policies"),
        reverse("alerts:policy_new"),
        reverse("alerts:policy", args=[rita_policy.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert '<html lang="zh-hans">' in response.content.decode()


# API ---------------------------------------------------------------------------------------------


def test_the_api_lists_my_authoritys_policies_and_the_defaults(
    api_client_for, rita_policy, otto_policy, rita, charlie
):
    response = api_client_for(rita).get("/api/v1/alerts/policies/")

    assert response.status_code == 200
    by_id = {item["id"]: item for item in response.json()}
    mine = by_id[str(rita_policy.public_id)]
    assert mine == {
        "id": str(rita_policy.public_id),
        "name": "黄浦区火灾",
        "authority": {
            "id": str(rita_policy.authority.organisation.public_id),
            "name": "黄浦区城运中心",
            "region": rita_policy.authority.region.code,
        },
        "scenario": "fire",
        "unit_kind": "",
        "editable": True,
        "steps": [
            {"position": 0, "delay_s": 0, "targets": ["unit", "district"]},
            {"position": 1, "delay_s": 120, "targets": ["responder"]},
        ],
    }
    assert str(otto_policy.public_id) not in by_id
    default = by_id[str(_default("fire").public_id)]
    assert default["authority"] is None and default["editable"] is False
    charlie_sees = {
        item["id"] for item in api_client_for(charlie).get("/api/v1/alerts/policies/").json()
    }
    assert str(rita_policy.public_id) not in charlie_sees


def test_the_api_creates_updates_and_deletes_a_policy(api_client_for, huangpu, rita):
    client = api_client_for(rita)
    created = client.post(
        "/api/v1/alerts/policies/",
        {"name": "黄浦区燃气", "scenario": "gas", "unit_kind": "estate", "steps": RITA_STEPS},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["scenario"], body["unit_kind"], body["editable"]) == ("gas", "estate", True)
    url = f"/api/v1/alerts/policies/{body['id']}/"
    assert client.get(url).json() == body

    updated = client.put(
        url,
        {"name": "黄浦区燃气（改）", "steps": [{"delay_s": 0, "targets": ["unit", "responder"]}]},
        format="json",
    )
    assert updated.status_code == 200
    assert updated.json()["steps"] == [
        {"position": 0, "delay_s": 0, "targets": ["unit", "responder"]}
    ]
    assert updated.json()["name"] == "黄浦区燃气（改）"

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert not EscalationPolicy.objects.filter(authority=huangpu).exists()


def test_the_api_names_the_field_of_each_error(api_client_for, rita_policy, rita):
    client = api_client_for(rita)

    def post(**body):
        response = client.post(
            "/api/v1/alerts/policies/",
            {"name": "x", "steps": RITA_STEPS} | body,
            format="json",
        )
        assert response.status_code == 400, response.content
        return response.json()

    assert post(steps=[]) == {"steps": ["Add at least one step."]}
    assert post(steps=[{"delay_s": 0, "targets": ["unit"]}, {"delay_s": 0, "targets": ["unit"]}])[
        "steps"
    ] == [
        "Step 1 must come later than step 0: each step's delay must be longer than the one before."
    ]
    assert post(steps=[{"delay_s": 0, "targets": ["mayor"]}])["steps"]  # not a Target
    assert post(scenario="fire") == {
        "scenario": [
            "Your authority already has a policy for this scenario and kind of unit: edit it."
        ]
    }
    assert "scenario" in post(scenario="no-such-scenario")
    assert "unit_kind" in post(unit_kind="castle")
    assert "name" in post(name="")

    put = client.put(
        f"/api/v1/alerts/policies/{rita_policy.public_id}/",
        {"name": "x", "steps": [{"delay_s": 60, "targets": ["unit"]}]},
        format="json",
    )
    assert put.status_code == 400
    assert put.json() == {
        "steps": ["Step 0 is sent as soon as the alert is raised: its delay must be 0."]
    }


def test_the_api_refuses_a_viewer_with_403_and_an_outsider_with_404(
    api_client_for, rita_policy, vic, otto, charlie, huangpu
):
    url = f"/api/v1/alerts/policies/{rita_policy.public_id}/"
    body = {"name": "x", "steps": RITA_STEPS}

    viewer = api_client_for(vic)
    assert viewer.get(url).status_code == 200
    assert viewer.get(url).json()["editable"] is False
    assert viewer.put(url, body, format="json").status_code == 403
    assert viewer.delete(url).status_code == 403
    assert viewer.post("/api/v1/alerts/policies/", body, format="json").status_code == 403

    for outsider in (otto, charlie):
        client = api_client_for(outsider)
        assert client.get(url).status_code == 404
        assert client.put(url, body, format="json").status_code == 404
        assert client.delete(url).status_code == 404
    # Naming someone else's authority, or having none, finds nothing to create a policy for.
    named = body | {"authority": str(huangpu.organisation.public_id)}
    assert (
        api_client_for(otto).post("/api/v1/alerts/policies/", named, format="json").status_code
        == 404
    )
    assert (
        api_client_for(charlie).post("/api/v1/alerts/policies/", body, format="json").status_code
        == 404
    )

    default_url = f"/api/v1/alerts/policies/{_default('fire').public_id}/"
    assert api_client_for(otto).get(default_url).json()["editable"] is False
    assert api_client_for(otto).put(default_url, body, format="json").status_code == 403
    assert api_client_for(otto).delete(default_url).status_code == 403
    rita_policy.refresh_from_db()
    assert rita_policy.name == "黄浦区火灾"


def test_a_member_of_several_authorities_says_which(api_client_for, rita, otto, huangpu):
    factories.member_add(otto.memberships.get().organisation, rita, Membership.Role.OWNER)
    client = api_client_for(rita)
    body = {"name": "x", "steps": RITA_STEPS}
    refused = client.post("/api/v1/alerts/policies/", body, format="json")
    assert refused.status_code == 400 and "authority" in refused.json()
    chosen = client.post(
        "/api/v1/alerts/policies/",
        body | {"authority": str(huangpu.organisation.public_id)},
        format="json",
    )
    assert chosen.status_code == 201
    assert chosen.json()["authority"]["id"] == str(huangpu.organisation.public_id)


def test_the_policies_are_in_the_api_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    policies = schema["paths"]["/api/v1/alerts/policies/"]
    one = schema["paths"]["/api/v1/alerts/policies/{policy_id}/"]
    assert set(policies) >= {"get", "post"} and set(one) >= {"get", "put", "delete"}
    assert set(one["put"]["responses"]) == {"200", "400", "403", "404"}


# In a browser, on a phone ------------------------------------------------------------------------


@pytest.mark.browser
def test_on_a_phone_rita_copies_a_default_adds_a_step_and_saves(
    transactional_db, request, live_server, phone, log_in, tmp_path
):
    from tests.conftest import CHROMIUM

    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is installed by make test")
    request.getfixturevalue("scene")  # committed: the live server reads it
    rita = request.getfixturevalue("rita")
    huangpu = rita.memberships.get().organisation.authority
    default = _default("fire")

    log_in(phone, rita.email)
    phone.goto(f"{live_server.url}{reverse('alerts:policies')}")
    phone.locator(f"#policy-{default.public_id} a.copy-policy").click()
    phone.locator("#copied-from").wait_for()
    rows = phone.locator(".policy-step")
    assert rows.count() == 4  # the default's three steps and an empty one
    phone.locator("#add-step").click()  # htmx: one more empty row, nothing saved
    phone.wait_for_function("document.querySelectorAll('.policy-step').length === 5")
    phone.fill("#id_name", "黄浦区火灾")
    phone.fill("#id_steps-3-delay_minutes", "30")
    phone.locator("#step-3 input[value='city_platform']").check()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    phone.screenshot(path=str(tmp_path / "policy_form.png"), full_page=True)
    phone.locator("#policy-save").click()
    phone.wait_for_url(f"**{reverse('alerts:policies')}")

    policy = EscalationPolicy.objects.get(authority=huangpu)
    assert _steps(policy) == [*_steps(default), (1800, ["city_platform"])]
    assert phone.locator(f"#policy-{policy.public_id}").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(tmp_path / "policy_list.png"), full_page=True)
