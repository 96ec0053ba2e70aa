"""What the billing pages share: partial templates for htmx, roles from the memberships the
middleware loaded, and status timelines."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import get_language
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Membership
from marketplace.models import Tier

PER_PAGE = 50


def template_for(request: HttpRequest, template_name: str, partial: str) -> str:
    return f"{template_name}#{partial}" if request.htmx else template_name


def redirect_after_write(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def membership_in(request: HttpRequest, organisation_id: int) -> Membership | None:
    return next((m for m in request.memberships if m.organisation_id == organisation_id), None)


def may_write(request: HttpRequest, organisation_id: int) -> bool:
    membership = membership_in(request, organisation_id)
    return membership is not None and membership.can_write


def may_manage(request: HttpRequest, organisation_id: int) -> bool:
    membership = membership_in(request, organisation_id)
    return membership is not None and membership.can_manage


def error_message(request: HttpRequest, exc: ValidationError) -> None:
    """A refused button press (no form to show it on): said at the top of the next page."""
    messages.error(request, " ".join(exc.messages))


def timeline(transitions, statuses) -> list[dict]:
    """StatusChange rows as people read them: labels instead of stored values."""

    def label(value: str) -> str:
        return statuses(value).label if value in statuses.values else value

    return [
        {
            "at": step.at,
            "by": step.by,
            "from": label(step.from_status) if step.from_status else "",
            "to": label(step.to_status),
            "reason": step.reason,
        }
        for step in transitions
    ]


def snapshot_view(snapshot: dict) -> dict:
    """The frozen solution in the page's language."""
    english = (get_language() or "").startswith("en")
    tier = snapshot.get("tier", "")
    return snapshot | {
        "display_name": (english and snapshot.get("name_en")) or snapshot.get("name", ""),
        "display_scenario": (english and snapshot.get("scenario_name_en"))
        or snapshot.get("scenario_name", ""),
        "tier_label": Tier(tier).label if tier in Tier.values else tier,
    }
