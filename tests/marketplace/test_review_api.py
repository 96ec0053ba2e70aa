"""The reviewers' API: standards, the queue, reviews, decisions, certificates. rita reviews,
ada is a viewer in her authority (403 on writes), vince (vendor) and alice (unit) get 404 on
the review endpoints; the certificate lookup is public."""

import pytest
from rest_framework.test import APIClient

from marketplace import services
from marketplace.models import ReferenceStandard, RequirementVerdict, Review, SolutionRevision
from tests.marketplace_fixtures import YUAN

Status = SolutionRevision.Status


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def review_path(revision, tail=""):
    return f"/api/v1/reviews/{revision.solution.public_id}/{revision.number}/{tail}"


@pytest.mark.django_db
def test_happy_path_certify_through_the_api(api_client_for, rita, submitted):
    api = api_client_for(rita)

    queue = api.get("/api/v1/reviews/")
    assert queue.status_code == 200
    assert [item["number"] for item in queue.json()["results"]] == [1]

    started = api.post(review_path(submitted))
    assert started.status_code == 201, started.json()
    assert started.json()["status"] == "in_review"
    assert started.json()["required"] == ["FIRE-1", "FIRE-2"]
    assert started.json()["purchase_price"] == 180 * YUAN

    for code in ["FIRE-1", "FIRE-2"]:
        response = api.put(
            review_path(submitted, "verdicts/"),
            {"requirement": code, "verdict": "met", "note": "ok"},
            format="json",
        )
        assert response.status_code == 200, response.json()
    assert api.get(review_path(submitted)).json()["problems"] == []

    decided = api.post(
        review_path(submitted, "decision/"),
        {"decision": "certify", "reasons": "符合"},
        format="json",
    )

    assert decided.status_code == 200, decided.json()
    body = decided.json()
    assert body["status"] == "certified"
    assert body["certificate_number"].startswith("SU-")
    assert [t["to_status"] for t in body["transitions"]][-1] == "certified"


@pytest.mark.django_db
def test_out_of_band_price_refused_with_the_reason(
    api_client_for, rita, vince, draft, fire_standard
):
    services.revision_update(revision=draft, by=vince, purchase_price=100 * YUAN)  # mid: 150–400
    services.revision_submit(revision=draft, by=vince)
    api = api_client_for(rita)
    api.post(review_path(draft))
    for code in ["FIRE-1", "FIRE-2"]:
        api.put(review_path(draft, "verdicts/"), {"requirement": code, "verdict": "met"})

    response = api.post(review_path(draft, "decision/"), {"decision": "certify"}, format="json")

    assert response.status_code == 400
    assert "outside the" in response.json()["decision"][0]
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW


@pytest.mark.django_db
def test_not_met_without_note_names_note(api_client_for, rita, submitted):
    api = api_client_for(rita)
    api.post(review_path(submitted))

    response = api.put(
        review_path(submitted, "verdicts/"),
        {"requirement": "FIRE-1", "verdict": "not_met", "note": ""},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["note"]
    assert not RequirementVerdict.objects.exists()


@pytest.mark.django_db
def test_unknown_requirement_names_requirement(api_client_for, rita, submitted):
    api = api_client_for(rita)
    api.post(review_path(submitted))

    response = api.put(
        review_path(submitted, "verdicts/"), {"requirement": "NOPE-9", "verdict": "met"}
    )

    assert response.status_code == 400
    assert list(response.json()) == ["requirement"]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["vince", "alice"])
def test_vendor_and_unit_users_get_404_on_the_review_api(
    request, api_client_for, persona, certified, alice_org
):
    api = api_client_for(request.getfixturevalue(persona))

    assert api.get("/api/v1/reviews/").status_code == 404
    assert api.get(review_path(certified)).status_code == 404
    assert api.post(review_path(certified)).status_code == 404
    assert api.put(review_path(certified, "verdicts/"), {}).status_code == 404
    assert api.post(review_path(certified, "decision/"), {}).status_code == 404
    number = certified.certificate_number
    response = api.post(f"/api/v1/certificates/{number}/suspend/", {"reason": "x"})
    assert response.status_code == 404
    certified.refresh_from_db()
    assert certified.status == Status.CERTIFIED


@pytest.mark.django_db
def test_authority_viewer_reads_but_gets_403_on_writes(api_client_for, ada, submitted):
    api = api_client_for(ada)

    assert api.get("/api/v1/reviews/").status_code == 200
    assert api.get(review_path(submitted)).status_code == 200
    assert api.post(review_path(submitted)).status_code == 403
    response = api.post(
        "/api/v1/standards/",
        {
            "scenario": "fire",
            "title": "x",
            "title_en": "x",
            "allowed_modes": ["purchase"],
            "monitoring_fee_min": 100,
            "monitoring_fee_max": 200,
        },
        format="json",
    )
    assert response.status_code == 403
    assert not Review.objects.exists()
    assert ReferenceStandard.objects.count() == 1


@pytest.mark.django_db
def test_standard_draft_requirements_bands_publish(api_client_for, rita, vince, fire_standard):
    api = api_client_for(rita)

    created = api.post(
        "/api/v1/standards/",
        {
            "scenario": "fire",
            "title": "消防 2027",
            "title_en": "Fire 2027",
            "allowed_modes": ["purchase", "lease"],
            "monitoring_fee_min": 300,
            "monitoring_fee_max": 1500,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    standard_id = created.json()["id"]
    base = f"/api/v1/standards/{standard_id}/"
    assert created.json()["version"] == 2 and created.json()["status"] == "draft"

    # A vendor does not see the draft at all.
    assert api_client_for(vince).get(base).status_code == 404

    refused = api.post(base + "publish/")
    assert refused.status_code == 400
    assert "requirement" in refused.json()["non_field_errors"][0]

    bad = api.post(
        base + "requirements/",
        {"code": "P-1", "text": "x", "text_en": "x", "kind": "performance", "tiers": ["low"]},
        format="json",
    )
    assert bad.status_code == 400 and list(bad.json()) == ["threshold"]
    added = api.post(
        base + "requirements/",
        {
            "code": "P-1",
            "text": "报警上传",
            "text_en": "Forwarded",
            "kind": "performance",
            "threshold": "10",
            "threshold_unit": "s",
            "tiers": ["low", "mid", "high"],
        },
        format="json",
    )
    assert added.status_code == 201, added.json()
    inverted = api.put(base + "bands/", {"tier": "low", "price_min": 500, "price_max": 100})
    assert inverted.status_code == 400 and list(inverted.json()) == ["price_max"]
    for tier in ["low", "mid", "high"]:
        response = api.put(base + "bands/", {"tier": tier, "price_min": 100, "price_max": 900})
        assert response.status_code == 200
    assert len(api.get(base + "bands/").json()) == 3

    published = api.post(base + "publish/")

    assert published.status_code == 200
    assert published.json()["status"] == "published"
    fire_standard.refresh_from_db()
    assert fire_standard.status == ReferenceStandard.Status.RETIRED
    # Published: any signed-in user reads it.
    assert api_client_for(vince).get(base).status_code == 200


@pytest.mark.django_db
def test_certificate_lookup_is_public_and_shows_suspension(api_client_for, rita, certified):
    number = certified.certificate_number
    anonymous = APIClient()

    response = anonymous.get(f"/api/v1/certificates/{number}/")
    assert response.status_code == 200
    assert response.json()["status"] == "certified"
    assert response.json()["holder"] == "申安消防科技"
    assert response.json()["url"].endswith(f"/certificates/{number}/")

    suspended = api_client_for(rita).post(
        f"/api/v1/certificates/{number}/suspend/", {"reason": "抽检"}
    )
    assert suspended.status_code == 200, suspended.json()
    assert anonymous.get(f"/api/v1/certificates/{number}/").json()["status"] == "suspended"
    assert anonymous.get("/api/v1/certificates/SU-0000-NONE-000000/").status_code == 404


@pytest.mark.django_db
def test_certificate_actions_need_a_reason_and_follow_the_state_machine(
    api_client_for, rita, certified
):
    api = api_client_for(rita)
    base = f"/api/v1/certificates/{certified.certificate_number}/"

    no_reason = api.post(base + "suspend/", {"reason": ""})
    assert no_reason.status_code == 400 and list(no_reason.json()) == ["reason"]
    not_suspended = api.post(base + "reinstate/", {"reason": "x"})
    assert not_suspended.status_code == 400
    assert api.post(base + "revoke/", {"reason": "伪造"}).json()["status"] == "revoked"


@pytest.mark.django_db
def test_patch_a_draft_standard(api_client_for, rita, fire, authority):
    standard = services.standard_create(
        scenario=fire,
        authority=authority,
        by=rita,
        title="草稿",
        title_en="Draft",
        allowed_modes=["purchase"],
        monitoring_fee_min=100,
        monitoring_fee_max=200,
    )
    api = api_client_for(rita)

    response = api.patch(
        f"/api/v1/standards/{standard.pk}/", {"allowed_modes": ["lease"]}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["allowed_modes"] == ["lease"]
    assert response.json()["monitoring_fee_max"] == 200
    inverted = api.patch(f"/api/v1/standards/{standard.pk}/", {"monitoring_fee_max": 50})
    assert inverted.status_code == 400 and list(inverted.json()) == ["monitoring_fee_max"]
