"""An authority's escalation policies, as pages (issue 6 §3: "seeded and editable by
authorities").

The list shows the policies of the user's authorities and, read-only, the platform's defaults
they replace, each with its steps; "copy to my region" opens the new-policy form prefilled
with a default's steps. The form is one page for a new policy and an existing one: name, what
it covers (scenario and unit kind, fixed once it exists) and the steps as rows (delay in
minutes, who is told), with an empty "add a step" row and a button for one more row.

Reads go through alerts.selectors: another authority's policy answers 404. Writes call one
alerts.services.policies function; a member who is not an owner or manager gets 403 from it,
and its ValidationError is shown under the field it names (the steps' above the rows).
"""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User
from alerts import selectors
from alerts.forms import PolicyForm, minutes, step_formset
from alerts.models import EscalationPolicy, Target
from alerts.services import policies
from units.models import Authority, Unit

LIST_TEMPLATE = "alerts/policy_list.html"
FORM_TEMPLATE = "alerts/policy_form.html"


def _steps_shown(policy: EscalationPolicy) -> list[dict]:
    labels = dict(Target.choices)
    return [
        {
            "position": step.position,
            "minutes": minutes(step.delay_s),
            "targets": [labels[target] for target in step.targets if target in labels],
        }
        for step in policy.steps.all()
    ]


def _covers(policy: EscalationPolicy) -> dict:
    """What a policy applies to, in words: its scenario and unit kind, or "any"."""
    if policy.scenario_id is None:
        scenario = _("Any scenario")
    else:
        scenario = policy.scenario.name_en if get_language() == "en" else policy.scenario.name
    unit_kind = Unit.Kind(policy.unit_kind).label if policy.unit_kind else _("Any kind of unit")
    return {"scenario_name": scenario, "unit_kind_name": unit_kind}


def _authority_name(authority: Authority) -> str:
    return f"{authority.organisation.name} · {authority.region.display_name(get_language())}"


# The list -------------------------------------------------------------------------------------


@login_required
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    """Anyone signed in may read the platform's defaults (a unit may see how its alerts
    escalate); a member of an authority also sees its policies, and its owners and managers
    may change them."""
    user: User = request.user
    member_of = list(selectors.policy_authority_list_for(user=user))
    managed = {
        authority.pk for authority in selectors.policy_authority_list_for(user=user, manage=True)
    }
    own, defaults = [], []
    for policy in selectors.policy_list_for(user=user):
        row = {
            "policy": policy,
            "steps": _steps_shown(policy),
            "editable": policy.authority_id in managed,
            **_covers(policy),
        }
        if policy.authority_id:
            row["authority_name"] = _authority_name(policy.authority)
            own.append(row)
        else:
            defaults.append(row)
    context = {
        "own": own,
        "defaults": defaults,
        "authorities": [_authority_name(authority) for authority in member_of],
        "may_create": bool(managed),
    }
    return render(request, LIST_TEMPLATE, context)


# The form -------------------------------------------------------------------------------------


def _render_form(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    template = f"{FORM_TEMPLATE}#form" if request.htmx else FORM_TEMPLATE
    return render(request, template, context, status=status)


def _show_service_errors(form: PolicyForm, error: ValidationError) -> list[str]:
    """A service error under the form's field it names; returns the steps' (shown above the
    rows), and puts any other at the top of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return []
    steps_errors: list[str] = []
    for field, errors in error.error_dict.items():
        if field == "steps":
            steps_errors += ValidationError(errors).messages
        else:
            form.add_error(field if field in form.fields else None, errors)
    return steps_errors


def _form_page(
    request: HttpRequest,
    *,
    context: dict,
    form_kwargs: dict,
    initial: dict,
    steps: list,
    save: Callable[[dict, list[dict]], EscalationPolicy],
) -> HttpResponse:
    """GET shows the form; POST saves through `save` (one service call), or with `add_step`
    shows it again with one more empty row, everything typed kept and nothing saved."""
    if request.method == "GET":
        form = PolicyForm(initial=initial, **form_kwargs)
        return _render_form(request, context | {"form": form, "formset": step_formset(steps=steps)})

    form = PolicyForm(request.POST, **form_kwargs)
    formset = step_formset(request.POST)
    if "add_step" in request.POST:
        typed = {name: form[name].value() for name in form.fields}
        rows, empty = formset.carried_over()
        context |= {
            "form": PolicyForm(initial=typed, **form_kwargs),
            "formset": step_formset(steps=rows, extra=empty + 1),
        }
        return _render_form(request, context)

    steps_errors: list[str] = []
    if form.is_valid() and formset.is_valid():
        try:
            policy = save(form.cleaned_data, formset.steps())
        except ValidationError as exc:
            steps_errors = _show_service_errors(form, exc)
        else:
            messages.success(request, _("Saved the policy “%(name)s”.") % {"name": policy.name})
            url = reverse("alerts:policies")
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    steps_errors = [str(error) for error in formset.non_form_errors()] + steps_errors
    context |= {"form": form, "formset": formset, "steps_errors": steps_errors}
    return _render_form(request, context, status=200 if request.htmx else 400)


def _managed_authorities(user: User) -> list[Authority]:
    """The authorities the user may write policies for; 403 for a member who may only read
    them, 404 for someone in no authority (nothing here is theirs)."""
    authorities = list(selectors.policy_authority_list_for(user=user, manage=True))
    if authorities:
        return authorities
    if selectors.policy_authority_list_for(user=user).exists():
        raise PermissionDenied("Only owners and managers of an authority write its policies")
    raise Http404("Not a member of any authority")


def _copy_source(request: HttpRequest) -> EscalationPolicy | None:
    public_id = request.GET.get("copy")
    if not public_id:
        return None
    try:
        return selectors.policy_visible_get_for(user=request.user, public_id=public_id)
    except ValidationError:  # not a UUID at all
        raise Http404("No such policy") from None


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def policy_new(request: HttpRequest) -> HttpResponse:
    """A new policy for one of the user's authorities, blank or (`?copy=<id>`) a copy of one
    they can see: a platform default, or a policy of their own for other alerts."""
    authorities = _managed_authorities(request.user)
    initial: dict = {}
    steps: list = [(0, [])]
    source = _copy_source(request) if request.method == "GET" else None
    if source is not None:
        initial = {
            "name": source.name,
            "scenario": source.scenario_id,
            "unit_kind": source.unit_kind,
        }
        steps = [(step.delay_s, step.targets) for step in source.steps.all()]
    current = request.membership.organisation.public_id if request.membership else None
    if any(authority.organisation.public_id == current for authority in authorities):
        initial["authority"] = str(current)

    def save(data: dict, steps: list[dict]) -> EscalationPolicy:
        return policies.policy_create(
            authority=data["authority"],
            by=request.user,
            name=data["name"],
            scenario=data["scenario"],
            unit_kind=data["unit_kind"],
            steps=steps,
        )

    return _form_page(
        request,
        context={"policy": None, "may_manage": True, "copied_from": source},
        form_kwargs={"authorities": authorities},
        initial=initial,
        steps=steps,
        save=save,
    )


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def policy_edit(request: HttpRequest, public_id) -> HttpResponse:
    """One of the user's authorities' policies. Its members who may not change it (staff,
    viewers) see it read-only; saving is refused by the service (403)."""
    policy = selectors.policy_get_for(user=request.user, public_id=public_id)
    may_manage = (
        selectors.policy_authority_list_for(user=request.user, manage=True)
        .filter(pk=policy.authority_id)
        .exists()
    )

    def save(data: dict, steps: list[dict]) -> EscalationPolicy:
        return policies.policy_update(
            policy=policy, by=request.user, name=data["name"], steps=steps
        )

    context = {
        "policy": policy,
        "may_manage": may_manage,
        "authority_name": _authority_name(policy.authority),
        "steps_shown": _steps_shown(policy),
        **_covers(policy),
    }
    return _form_page(
        request,
        context=context,
        form_kwargs={"editing": True},
        initial={"name": policy.name},
        steps=[(step.delay_s, step.targets) for step in policy.steps.all()],
        save=save,
    )


@login_required
@require_POST
def policy_delete(request: HttpRequest, public_id) -> HttpResponse:
    policy = selectors.policy_get_for(user=request.user, public_id=public_id)
    name = policy.name
    policies.policy_delete(policy=policy, by=request.user)
    messages.success(
        request,
        _("Deleted the policy “%(name)s”: its alerts follow the next most specific policy.")
        % {"name": name},
    )
    url = reverse("alerts:policies")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


urlpatterns = [
    path("alerts/policies/", policy_list, name="policies"),
    path("alerts/policies/new/", policy_new, name="policy_new"),
    path("alerts/policies/<uuid:public_id>/", policy_edit, name="policy"),
    path("alerts/policies/<uuid:public_id>/delete/", policy_delete, name="policy_delete"),
]
