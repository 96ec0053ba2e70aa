"""What every app's views do the same way for htmx requests."""

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect


def page_or_partial(request: HttpRequest, template_name: str, partial: str) -> str:
    """The whole page, or just one partial of it (django-template-partials) for htmx."""
    return f"{template_name}#{partial}" if request.htmx else template_name


def paginate(request: HttpRequest, items, per_page: int) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def redirect_after_write(request: HttpRequest, url: str) -> HttpResponse:
    """htmx follows a client redirect to the whole page; a plain form post, a 302."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
