"""The catalog for units: every scenario with its certified solutions per tier, the solutions
of one scenario (filters, sort by price or tier only), side-by-side comparison of up to four,
and a quote for one of the person's units.

Views parse input with marketplace.forms.catalog and read through marketplace.selectors (and
units.selectors for the unit, which answers 404 for a unit that is not the person's). No code
path here picks or pre-selects a vendor: the order is the unit's choice of price or tier.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _

from config.htmx import page_or_partial
from marketplace import selectors
from marketplace.forms.catalog import (
    DEFAULT_MONTHS,
    MAX_COMPARED,
    CatalogFilterForm,
    CompareForm,
    QuoteForm,
)
from marketplace.models import Tier
from marketplace.quotes import quote_for
from marketplace.serializers.catalog import bom_rule_explained, compare_requirement_rows
from units.models import Unit
from units.selectors import unit_get_for

SOLUTIONS_PER_PAGE = 50


def certificate_url(number: str) -> str:
    """The public verification page; by path until that page's url name exists."""
    try:
        return reverse("marketplace:certificate", args=[number])
    except NoReverseMatch:
        return f"/certificates/{number}/"


TIER_MISSING_SENTENCES = {
    Tier.LOW: lambda: _("No certified low-tier solution yet."),
    Tier.MID: lambda: _("No certified mid-tier solution yet."),
    Tier.HIGH: lambda: _("No certified high-tier solution yet."),
}


def tiers_missing_sentences(tiers_missing: list[str]) -> list[str]:
    """A plain sentence per tier without a certified solution (only when fewer than three
    tiers have one, which is exactly when the list is not empty)."""
    return [TIER_MISSING_SENTENCES[tier]() for tier in tiers_missing]


def _unit_or_none(request: HttpRequest, form) -> object:
    """The unit asked for, looked up among those the person may see: 404 otherwise."""
    public_id = form.cleaned_data.get("unit") if form.is_valid() else None
    return unit_get_for(user=request.user, public_id=public_id) if public_id else None


def _months(form) -> int:
    return form.cleaned_data["months"] if form.is_valid() else DEFAULT_MONTHS


# The scenarios -------------------------------------------------------------------------------


@login_required
def catalog(request: HttpRequest) -> HttpResponse:
    counts = selectors.catalog_tier_counts()
    my_kinds = set(selectors.catalog_unit_choices(user=request.user).values_list("kind", flat=True))
    rows = []
    for scenario in selectors.scenario_list():
        per_tier = counts.get(scenario.pk, dict.fromkeys(Tier.values, 0))
        missing = [tier for tier in Tier.values if not per_tier[tier]]
        rows.append(
            {
                "scenario": scenario,
                "tiers": [(label, per_tier[tier]) for tier, label in Tier.choices],
                "missing": tiers_missing_sentences(missing),
                "kinds": [Unit.Kind(kind).label for kind in scenario.unit_kinds],
                "for_my_units": bool(my_kinds & set(scenario.unit_kinds)),
            }
        )
    return render(request, "marketplace/catalog_index.html", {"rows": rows})


# One scenario's solutions ----------------------------------------------------------------------


@login_required
def catalog_scenario(request: HttpRequest, code: str) -> HttpResponse:
    scenario = selectors.catalog_scenario_get(code=code)
    units = selectors.catalog_unit_choices(user=request.user)
    form = CatalogFilterForm(
        request.GET or None, units=units, vendors=selectors.catalog_vendors(scenario=scenario)
    )
    if form.is_bound:
        form.is_valid()
    unit = _unit_or_none(request, form)
    months = _months(form)
    revisions = selectors.catalog_revisions(scenario=scenario, **form.selector_filters())
    page = Paginator(revisions, SOLUTIONS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "revision": revision,
            "certificate_url": certificate_url(revision.certificate_number),
            "quote": quote_for(revision=revision, unit=unit, months=months) if unit else None,
        }
        for revision in page
    ]
    context = {
        "scenario": scenario,
        "form": form,
        "page_obj": page,
        "rows": rows,
        "unit": unit,
        "months": months,
        "missing": tiers_missing_sentences(selectors.catalog_tiers_missing(scenario=scenario)),
        "max_compared": MAX_COMPARED,
    }
    template = page_or_partial(request, "marketplace/catalog_scenario.html", "results")
    return render(request, template, context)


@login_required
def catalog_compare(request: HttpRequest, code: str) -> HttpResponse:
    scenario = selectors.catalog_scenario_get(code=code)
    form = CompareForm(request.GET, units=selectors.catalog_unit_choices(user=request.user))
    context = {"scenario": scenario, "form": form, "columns": [], "requirements": []}
    if not form.is_valid():
        # Five ticked (or none): say so plainly, compare nothing.
        return render(request, "marketplace/catalog_compare.html", context, status=400)
    unit = _unit_or_none(request, form)
    months = form.cleaned_data["months"]
    revisions = selectors.catalog_compare(public_ids=form.cleaned_data["s"], scenario=scenario)
    context |= {
        "unit": unit,
        "months": months,
        "columns": [
            {
                "revision": revision,
                "certificate_url": certificate_url(revision.certificate_number),
                "quote": quote_for(revision=revision, unit=unit, months=months) if unit else None,
            }
            for revision in revisions
        ],
        "requirements": compare_requirement_rows(revisions),
    }
    return render(request, "marketplace/catalog_compare.html", context)


# A quote for one of my units -------------------------------------------------------------------


@login_required
def catalog_quote(request: HttpRequest, public_id) -> HttpResponse:
    revision = selectors.catalog_revision_get(public_id=public_id)
    form = QuoteForm(request.GET or None, units=selectors.catalog_unit_choices(user=request.user))
    unit = _unit_or_none(request, form) if form.is_bound else None
    months = _months(form) if form.is_bound else DEFAULT_MONTHS
    quote = quote_for(revision=revision, unit=unit, months=months) if unit else None
    lines = []
    if quote is not None:
        lines = [
            {"line": line, "quantity": quoted.quantity, "rule": bom_rule_explained(line, unit)}
            for line, quoted in zip(revision.bom.all(), quote.lines, strict=True)
        ]
    context = {
        "revision": revision,
        "scenario": revision.solution.scenario,
        "certificate_url": certificate_url(revision.certificate_number),
        "form": form,
        "unit": unit,
        "months": months,
        "quote": quote,
        "lines": lines,
    }
    template = page_or_partial(request, "marketplace/catalog_quote.html", "quote")
    return render(request, template, context)


urlpatterns = [
    path("catalog/", catalog, name="catalog"),
    path("catalog/solutions/<uuid:public_id>/quote/", catalog_quote, name="catalog_quote"),
    path("catalog/<slug:code>/", catalog_scenario, name="catalog_scenario"),
    path("catalog/<slug:code>/compare/", catalog_compare, name="catalog_compare"),
]
